"""The Turtle detectors find, on varied noisy subjects, the errors injected into synthetic repetitions.

The errors were injected through these same detectors (on the canonical body), so this proves self-
consistency: subject variation, noise and the injection margin do not blur them much. It says nothing
about accuracy on real lifts.
"""

from __future__ import annotations

from pathlib import Path

from flexaqa.clips.flex import FlexDataset
from flexaqa.kg import KnowledgeGraph
from flexaqa.synth.evaluation import detector_accuracy
from flexaqa.synth.generate import Options, generate

ACTIONS = ["A04", "A08", "A12", "A15", "A16"]


def test_detectors_find_what_they_injected(kg: KnowledgeGraph, tmp_path: Path) -> None:
    """At least 90 % precision and recall against labels the detectors themselves produced."""
    labels = generate(kg, tmp_path, Options(per_action=10, seed=3, error_rate=0.8), ACTIONS)
    tallies = detector_accuracy(kg, labels, FlexDataset(tmp_path, load_video=False))
    tp = sum(t.tp for t in tallies.values())
    fp = sum(t.fp for t in tallies.values())
    fn = sum(t.fn for t in tallies.values())
    assert tp >= 20, "enough injected errors to judge"
    assert tp / (tp + fp) >= 0.9 and tp / (tp + fn) >= 0.9, (tp, fp, fn)
