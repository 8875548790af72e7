"""Turtle detectors on real camera keypoints (MediaPipe, 2D) labelled frame by frame by other people, as
recorded and reduced to what COCO-17 and OpenPose detectors give (fewer joints, their confidence, dropouts)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from flexaqa.clips.layouts import JOINT_INDEX, get_layout
from flexaqa.clips.readers import read_skeleton_csv, skeleton_from_array
from flexaqa.clips.skeleton import Skeleton, fill_gaps
from flexaqa.engine.assess import assess, clean_skeleton
from flexaqa.engine.detectors import frames_flagged
from flexaqa.engine.features import SIDES, Abstain, Recording, leading_side
from flexaqa.engine.timeline import Span
from flexaqa.kg import KnowledgeGraph

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


def as_assessed(skeleton: Skeleton) -> Recording:
    """What the rules read when the clip is assessed: the keypoints cleaned as ``assess`` cleans them."""
    cleaned, sides = clean_skeleton(skeleton)
    return Recording(positions=np.array(cleaned.positions), fps=skeleton.fps, sides=sides, ears=cleaned.ears,
                     toes_tracked=get_layout(skeleton.layout).tracks_toes)


PAIRED = {"neck": ("left_shoulder", "right_shoulder"), "mid_hip": ("left_hip", "right_hip")}
"""Joints another layout has that MediaPipe gives as the mean of two (OpenPose's neck and mid-hip)."""


def reduced(path: Path, layout: str, seed: int) -> np.ndarray:
    """The MediaPipe keypoints of ``path`` as ``layout``'s detector would give them: (T, J, 3) x, y,
    confidence, only the joints that layout has (no toes or heels in COCO-17 and OpenPose-18), with seeded
    noise: 0.004 image widths of jitter (about 2 px at 480 px), the confidence scaled by 0.5-1 and jittered
    (another detector's scale), 5 % of points dropped (0, 0, 0 as OpenPose writes them) and 1 % thrown to
    the image border at a middling confidence (a detector's jump)."""
    import csv

    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    column = {name: i for i, name in enumerate(rows[0])}
    body = np.array([[float(cell) if cell else np.nan for cell in row[1:]] for row in rows[1:]])

    def track(joint: str) -> np.ndarray | None:
        if joint in PAIRED:
            parts = [track(p) for p in PAIRED[joint]]
            return None if parts[0] is None else np.column_stack([(parts[0][:, :2] + parts[1][:, :2]) / 2,
                                                                   np.minimum(parts[0][:, 2], parts[1][:, 2])])
        if joint.endswith(("_big_toe", "_small_toe")):  # BODY_25's two toe points; MediaPipe has one
            joint = joint.split("_")[0] + "_foot_index"
        if f"{joint}_x" not in column:
            return None
        return body[:, [column[f"{joint}_{axis}"] - 1 for axis in "xyv"]]

    spec = get_layout(layout)
    rng = np.random.default_rng(seed)
    out = np.zeros((len(body), len(spec.joints), 3))
    for k, joint in enumerate(spec.joints):
        found = track(joint)
        if found is not None:
            out[:, k] = found
    seen = out[:, :, 2] > 0
    out[:, :, :2] += np.where(seen[..., None], rng.normal(0, 0.004, out[:, :, :2].shape), 0)
    noisy = out[:, :, 2] * rng.uniform(0.5, 1.0, seen.shape) + rng.normal(0, 0.05, seen.shape)
    out[:, :, 2] = np.where(seen, np.clip(noisy, 0, 1), 0)
    dropped = seen & (rng.random(seen.shape) < 0.05)
    out[dropped] = 0
    jumped = seen & ~dropped & (rng.random(seen.shape) < 0.01)
    out[jumped, 0] = rng.choice([0.0, 1.0], jumped.sum())
    out[jumped, 1] = rng.random(jumped.sum())
    out[jumped, 2] = rng.uniform(0.3, 0.7, jumped.sum())
    out[~seen | dropped] = np.nan
    out[~seen | dropped, 2] = 0
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_labelled_fault_frames_are_flagged_by_the_turtle_detector(
    case: str, kg: KnowledgeGraph, shared_data: Path
) -> None:
    file, rule_id = CASES[case]
    rec, truth = recording(shared_data / file)
    score = scored(kg, rule_id, rec, truth)
    log.info("%s: balanced accuracy %.3f over %d frames", case, score, len(truth))
    assert score >= 0.8


def scored(kg: KnowledgeGraph, rule_id: str, rec: Recording, truth: np.ndarray) -> float:
    """Balanced accuracy of the rule's per-frame verdict on ``rec`` against the frame labels."""
    return balanced_accuracy(frames_flagged(kg.rules[rule_id], rec, slice(0, len(truth))), truth)


def full_mediapipe(kg: KnowledgeGraph, path: Path, rule_id: str) -> tuple[np.ndarray, float]:
    """A labelled MediaPipe recording's frame labels (True = fault) and the rule's score with every joint."""
    labelled = read_skeleton_csv(path, fps=30.0)
    truth = np.array(labelled.labels) == "L"
    return truth, scored(kg, rule_id, as_assessed(labelled.skeleton), truth)


@pytest.mark.parametrize("layout", ["COCO-17", "OpenPose-18"])
def test_the_curl_reduced_to_a_2d_detector_scores_as_the_full_mediapipe_set(
    layout: str, kg: KnowledgeGraph, shared_data: Path
) -> None:
    file, rule_id = CASES["leaning back in the curl"]
    truth, full = full_mediapipe(kg, shared_data / file, rule_id)
    scores = []
    for seed in range(3):
        skeleton = skeleton_from_array(reduced(shared_data / file, layout, seed), layout, 30.0).skeleton
        scores.append(scored(kg, rule_id, as_assessed(skeleton), truth))
    log.info("curl lean-back, %s: balanced accuracy %s vs %.3f with all MediaPipe joints", layout,
             np.round(scores, 3), full)
    assert min(scores) >= full - 0.05


def test_the_lunge_on_openpose_body_25_keeps_its_toes_and_scores_as_mediapipe(
    kg: KnowledgeGraph, shared_data: Path
) -> None:
    file, rule_id = CASES["knee over toe in the lunge"]
    truth, full = full_mediapipe(kg, shared_data / file, rule_id)
    source = reduced(shared_data / file, "OpenPose-25", seed=0)
    skeleton = skeleton_from_array(source, "OpenPose-25", 30.0).skeleton
    score = scored(kg, rule_id, as_assessed(skeleton), truth)
    log.info("lunge knee over toe, OpenPose-25: %.3f vs %.3f (MediaPipe)", score, full)
    assert score >= full - 0.05


@pytest.mark.parametrize("layout", ["COCO-17", "OpenPose-18"])
def test_the_lunge_without_toes_estimates_them_and_scores_as_mediapipe(
    layout: str, kg: KnowledgeGraph, shared_data: Path
) -> None:
    """No toes in the layout: the toe tip is placed from the ankle (engine.camera.FOOT_REACH, anthropometry,
    nothing fitted), scaled by the shank as long as it is around that frame (the set joins several lifters
    and camera distances), and the rule is checked, not abstained, within 0.05 of MediaPipe's tracked toes."""
    file, rule_id = CASES["knee over toe in the lunge"]
    truth, full = full_mediapipe(kg, shared_data / file, rule_id)
    scores = []
    for seed in range(3):
        rec = as_assessed(skeleton_from_array(reduced(shared_data / file, layout, seed), layout, 30.0).skeleton)
        assert rec.estimated_toes == ("left", "right") and rec.facing.cue != "toes"
        scores.append(scored(kg, rule_id, rec, truth))
    log.info("lunge knee over toe, %s: balanced accuracy %s vs %.3f with MediaPipe's toes", layout,
             np.round(scores, 3), full)
    assert min(scores) >= full - 0.05


def test_the_estimated_toe_lands_on_mediapipes_tracked_toe(shared_data: Path) -> None:
    """Geometry only, no labels: hide MediaPipe's toes, estimate them, compare with where MediaPipe put them
    on the front foot (the one the knee-over-toe rule reads). The keypoints are normalised per image axis
    (x / width, y / height), which the estimate must undo: the bones say the picture is 16:9."""
    labelled = read_skeleton_csv(shared_data / CASES["knee over toe in the lunge"][0], fps=30.0)
    tracked = as_assessed(labelled.skeleton)
    hidden_positions = np.array(tracked.positions)
    for side in SIDES:
        hidden_positions[:, JOINT_INDEX[f"{side}_foot"]] = np.nan
    hidden = Recording(positions=hidden_positions, fps=30.0, sides=tracked.sides)
    assert 16 / 9 - 0.1 < hidden.x_scale < 16 / 9 + 0.1
    everything = slice(None)
    front = leading_side(tracked, everything)[:, None]
    estimate = np.where(front, hidden.joint("left_foot", everything, along_floor=True),
                        hidden.joint("right_foot", everything, along_floor=True))
    real = np.where(front, tracked.joint("left_foot", everything), tracked.joint("right_foot", everything))
    error = np.abs(estimate - real)[:, 0] / tracked.torso_length()
    log.info("front toe tip estimate vs MediaPipe, |x| in torso lengths: median %.3f, 90th percentile %.3f",
             np.nanmedian(error), np.nanpercentile(error, 90))
    assert np.nanmedian(error) < 0.05, "half the rule's 0.1 torso-length margin"
    with pytest.raises(Abstain, match="estimate"):
        hidden.joint("left_foot", everything)  # a height or an angle would read a flat foot that was assumed


def test_a_depth_dependent_detector_abstains_on_2d_keypoints(kg: KnowledgeGraph, shared_data: Path) -> None:
    rec, _ = recording(shared_data / CASES["knee over toe in the lunge"][0])
    rule = next(r for r in kg.rules.values() if r.detector and r.detector.feature == "WidthRatio")
    from flexaqa.engine.detectors import evaluate

    finding = evaluate(rule, rec, Span(rule.key_step, "Concentric", 0, 30, 0))
    assert finding.status == "abstained" and "2D" in finding.reason


def test_the_real_curl_set_is_assessed_end_to_end(kg: KnowledgeGraph, shared_data: Path) -> None:
    from flexaqa.clips.files import load_clip

    clip = load_clip(shared_data / CASES["leaning back in the curl"][0], action="A01")
    report = assess(kg, clip)
    assert report.repetitions and 0 <= report.score <= 100
    swing = kg.rules["A01_AK03_ET004"].error_type
    assert any(e.error_type == swing for rep in report.repetitions for e in rep.errors)
    assert all(s.reason for rep in report.repetitions for s in rep.skipped), "every skipped check says why"
