"""The shipped learned scorer on real camera keypoints labelled frame by frame by other people: what it says
per repetition, and that merging it with the rules (it speaks only where a rule's detector abstained, as
``flexaqa assess --model`` does) keeps the rules' balanced accuracy. Nothing here is fitted to these labels:
the model's decision threshold is the one its checkpoint chose on held-out synthetic subjects."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from test_detectors_real import CASES, as_assessed, balanced_accuracy, recording, reduced  # noqa: E402

from api.core import assess_clip, load_model  # noqa: E402
from clips.clip import Clip  # noqa: E402
from clips.files import load_clip  # noqa: E402
from clips.readers import read_skeleton_csv, skeleton_from_array  # noqa: E402
from engine.detectors import frames_flagged  # noqa: E402
from engine.features import Recording  # noqa: E402
from kg import KnowledgeGraph  # noqa: E402

log = logging.getLogger(__name__)


def covered(spans: list[tuple[float, float]], frames: int, fps: float) -> np.ndarray:
    """Frame by frame: does one of ``spans`` (seconds, both ends included) cover the frame's time?"""
    times = np.arange(frames) / fps
    out = np.zeros(frames, dtype=bool)
    for start, end in spans:
        out |= (times >= start) & (times <= end)
    return out


def rules_and_merged(kg: KnowledgeGraph, name: str, clip: Clip, rec: Recording, truth: np.ndarray,
                     rule_id: str) -> tuple[float, float, list[int]]:
    """Balanced accuracy of ``rule_id``'s frames alone and merged with the model, and the repetitions where the
    rule abstained. A frame is flagged by the merge when the rule flags it, or when it lies in the time span of
    a repetition the merged report (``assess_clip(model=True)``) took from the model, at or above the model's
    threshold. Logs what the model says of every repetition."""
    frames = len(truth)
    rule_alone = frames_flagged(kg.rules[rule_id], rec, slice(0, frames))
    predictor = load_model(kg)
    assert predictor is not None, "the shipped checkpoint loads on the shipped graph"
    report = assess_clip(kg, clip, model=True)
    assert predictor.source in report.detectors
    threshold = predictor.record["thresholds"][rule_id]
    from_model = [e for rep in report.repetitions for e in rep.errors if e.rule == rule_id and e.source == "model"]
    merged = rule_alone | covered([e.time_span for e in from_model if e.probability >= threshold], frames, rec.fps)
    abstained = sorted({rep.index for rep in report.repetitions for e in rep.errors
                        if e.rule == rule_id and e.source == "model"}
                       | {rep.index for rep in report.repetitions for s in rep.skipped if s.rule == rule_id})

    said = [f for f in predictor.findings(kg, clip) if f.rule == rule_id]
    assert [f.repetition for f in said] == [r.index for r in report.repetitions], "one finding per repetition"
    for f, rep in zip(said, report.repetitions, strict=True):
        start, end = rep.frames
        log.info("%s, repetition %d (frames %d-%d, %d labelled faulty): %s p=%.4f%s over %s s", name,
                 f.repetition, start, end, int(truth[start:end].sum()), rule_id, f.probability,
                 " (error)" if f.probability >= threshold else "", f.time_span)
    model_alone = covered([f.time_span for f in said if f.probability >= threshold], frames, rec.fps)
    rules, both = balanced_accuracy(rule_alone, truth), balanced_accuracy(merged, truth)
    log.info("%s: balanced accuracy rules %.3f, rules + model %.3f (rule abstained in repetitions %s; model "
             "alone %.3f at its threshold %.3f) over %d frames", name, rules, both, abstained or "none",
             balanced_accuracy(model_alone, truth), threshold, frames)
    return rules, both, abstained


@pytest.mark.parametrize("case", sorted(CASES))
def test_merging_the_model_keeps_the_rules_balanced_accuracy(
    case: str, kg: KnowledgeGraph, shared_data: Path
) -> None:
    """On MediaPipe's own keypoints, as recorded: the merge must not lower the rule's balanced accuracy."""
    file, rule_id = CASES[case]
    rec, truth = recording(shared_data / file)
    clip = load_clip(shared_data / file, action=kg.rules[rule_id].action)
    rules, both, _ = rules_and_merged(kg, case, clip, rec, truth, rule_id)
    assert both >= rules - 1e-9


def test_merging_keeps_the_lunge_rules_balanced_accuracy_on_coco_keypoints(
    kg: KnowledgeGraph, shared_data: Path
) -> None:
    """Reduced to COCO-17 (no toes: estimated), the knee-over-toe rule is checked in every repetition; the
    merge must not lower its balanced accuracy there either."""
    file, rule_id = CASES["knee over toe in the lunge"]
    truth = np.array(read_skeleton_csv(shared_data / file, fps=30.0).labels) == "L"
    skeleton = skeleton_from_array(reduced(shared_data / file, "COCO-17", seed=0), "COCO-17", 30.0).skeleton
    clip = Clip(action=kg.rules[rule_id].action, skeleton=skeleton)
    rules, both, abstained = rules_and_merged(kg, "lunge as COCO-17", clip, as_assessed(skeleton), truth, rule_id)
    assert not abstained, "the estimated toes let the rule check every repetition"
    assert both >= rules - 1e-9
