"""How well the Turtle detectors find the errors labelled in a dataset (``clips.labels``), per error type.

On data from ``flexaqa synth`` the labels were made through these same detectors, so the counts measure
self-consistency (how subject variation, noise and the injection margin blur them), not accuracy on real
lifts. Each labelled repetition is cut into key steps with its true timeline (so this measures the detectors,
not the segmentation); a rule counts as a true positive when its detector fires on a repetition that
carries its error, a false positive when it fires on one that does not.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from tqdm import tqdm

from flexaqa.clips.flex import FlexDataset
from flexaqa.clips.labels import LabelSet
from flexaqa.engine.detectors import evaluate
from flexaqa.engine.prepared import recording_of
from flexaqa.engine.timeline import key_step_spans
from flexaqa.kg import KnowledgeGraph

log = logging.getLogger(__name__)


@dataclass
class Tally:
    """One error type's detector against the labels: true/false positives, misses, and abstentions."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    abstained: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


def detector_accuracy(kg: KnowledgeGraph, labels: LabelSet, data: FlexDataset) -> dict[str, Tally]:
    """Error type id -> counts over every repetition in ``labels`` that ``data`` holds."""
    if labels.kg_version != kg.version:
        log.warning("labels were made with knowledge graph %s, the detectors are from %s: rules edited since "
                    "then count against the old labels", labels.kg_version, kg.version)
    tallies: dict[str, Tally] = defaultdict(Tally)
    for sample in tqdm(labels.samples, desc="evaluate", unit="rep", disable=None):
        clip = data.load(sample.action, sample.index)
        if clip is None:
            continue
        rec = recording_of(kg, clip)
        t = sample.repetition
        spans = key_step_spans(kg, sample.action, t.start, t.turn, t.end)
        injected = {e.rule for e in sample.errors}
        for rule in kg.rules_of(sample.action):
            if rule.detector is None:
                continue
            tally = tallies[rule.error_type]
            finding = evaluate(rule, rec, spans[rule.key_step])
            if finding.status == "abstained":
                tally.abstained += 1
            elif finding.present and rule.id in injected:
                tally.tp += 1
            elif finding.present:
                tally.fp += 1
            elif rule.id in injected:
                tally.fn += 1
    return dict(tallies)
