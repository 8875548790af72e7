"""Turtle detectors on real camera keypoints (MediaPipe, 2D) labelled frame by frame by other people."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from clips.readers import read_skeleton_csv
from clips.skeleton import fill_gaps
from engine.assess import assess
from engine.detectors import frames_flagged
from engine.features import Recording
from engine.timeline import Span
from kg import KnowledgeGraph

log = logging.getLogger(__name__)

CASES = {
    "leaning back in the curl": ("pose/bicep_curl_lean_back_mediapipe.csv", "A01_AK03_ET004"),
    "knee over toe in the lunge": ("pose/lunge_knee_over_toe_mediapipe.csv", "A08_AK21_ET027"),
}


def balanced_accuracy(predicted: np.ndarray, truth: np.ndarray) -> float:
    return 0.5 * ((predicted & truth).sum() / truth.sum() + (~predicted & ~truth).sum() / (~truth).sum())


def recording(path: Path) -> tuple[Recording, np.ndarray]:
    labelled = read_skeleton_csv(path, fps=30.0)
    skeleton, _ = fill_gaps(labelled.skeleton, max_gap=6)
    return Recording(positions=np.array(skeleton.positions), fps=30.0), np.array(labelled.labels) == "L"


@pytest.mark.parametrize("case", sorted(CASES))
def test_labelled_fault_frames_are_flagged_by_the_turtle_detector(
    case: str, kg: KnowledgeGraph, shared_data: Path
) -> None:
    file, rule_id = CASES[case]
    rec, truth = recording(shared_data / file)
    flagged = frames_flagged(kg.rules[rule_id], rec, slice(0, len(truth)))
    score = balanced_accuracy(flagged, truth)
    log.info("%s: balanced accuracy %.3f over %d frames", case, score, len(truth))
    assert score >= 0.8


def test_a_depth_dependent_detector_abstains_on_2d_keypoints(kg: KnowledgeGraph, shared_data: Path) -> None:
    rec, _ = recording(shared_data / CASES["knee over toe in the lunge"][0])
    rule = next(r for r in kg.rules.values() if r.detector and r.detector.feature == "WidthRatio")
    from engine.detectors import evaluate

    finding = evaluate(rule, rec, Span(rule.key_step, "Concentric", 0, 30, 0))
    assert finding.status == "abstained" and "2D" in finding.reason


def test_the_real_curl_set_is_assessed_end_to_end(kg: KnowledgeGraph, shared_data: Path) -> None:
    from clips.files import load_clip

    clip = load_clip(shared_data / CASES["leaning back in the curl"][0], action="A01")
    report = assess(kg, clip)
    assert report.repetitions and 0 <= report.score <= 100
    swing = kg.rules["A01_AK03_ET004"].error_type
    assert any(e.error_type == swing for rep in report.repetitions for e in rep.errors)
    assert all(s.reason for rep in report.repetitions for s in rep.skipped), "every skipped check says why"
