"""How well the Turtle detectors find the errors injected into a synthetic dataset, per error type.

Each labelled repetition is cut into key steps with its true timeline (so this measures the detectors,
not the segmentation); a rule counts as a true positive when its detector fires on a repetition that
carries its error, a false positive when it fires on one that does not.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from clips.flex import FlexDataset
from engine.assess import recording_of
from engine.detectors import evaluate
from engine.synth.generate import read_labels
from engine.timeline import key_step_spans
from kg import KnowledgeGraph


@dataclass
class Tally:
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


def detector_accuracy(kg: KnowledgeGraph, root: Path, cache_dir: Path | None = None) -> dict[str, Tally]:
    """Error type id -> counts over every labelled repetition under ``root`` (parsed tables cached in
    ``cache_dir`` when given)."""
    labels = read_labels(root)
    data = FlexDataset(root, load_video=False, cache_dir=cache_dir)
    tallies: dict[str, Tally] = defaultdict(Tally)
    for sample in tqdm(labels["samples"], desc="evaluate", unit="rep", disable=None):
        clip = data.load(sample["action"], sample["index"])
        if clip is None:
            continue
        rec = recording_of(kg, clip)
        t = sample["repetition"]
        spans = key_step_spans(kg, sample["action"], t["start"], t["turn"], t["end"])
        injected = {e["rule"] for e in sample["errors"]}
        for rule in kg.rules_of(sample["action"]):
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
