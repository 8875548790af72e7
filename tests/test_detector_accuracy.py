"""The Turtle detectors find the errors injected into synthetic repetitions, and little else."""

from __future__ import annotations

from pathlib import Path

from engine.evaluation import detector_accuracy
from engine.synth.generate import Options, generate
from kg import KnowledgeGraph

ACTIONS = ["A04", "A08", "A12", "A15", "A16"]


def test_detectors_reach_90_percent_precision_and_recall(kg: KnowledgeGraph, tmp_path: Path) -> None:
    generate(kg, tmp_path, Options(per_action=10, seed=3, error_rate=0.8), ACTIONS)
    tallies = detector_accuracy(kg, tmp_path)
    tp = sum(t.tp for t in tallies.values())
    fp = sum(t.fp for t in tallies.values())
    fn = sum(t.fn for t in tallies.values())
    assert tp >= 20, "enough injected errors to judge"
    assert tp / (tp + fp) >= 0.9 and tp / (tp + fn) >= 0.9, (tp, fp, fn)
