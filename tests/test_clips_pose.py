"""Pose from the real gym video, with the optional pose extra (MediaPipe 0.10.21, bundled model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flexaqa.clips import pose
from flexaqa.clips.clip import Clip
from flexaqa.clips.files import load_clip
from flexaqa.clips.layouts import JOINT_INDEX
from flexaqa.clips.segmentation import segment_skeleton
from flexaqa.engine.assess import assess, clean_skeleton
from flexaqa.engine.features import SIDES, Recording
from flexaqa.kg import KnowledgeGraph

pytestmark = pytest.mark.skipif(not pose.available(), reason="the pose extra is not installed: "
                                "pip install 'flexaqa[pose]' (mediapipe 0.10.21 needs numpy<2)")


@pytest.fixture(scope="module")
def squat(shared_data: Path) -> Clip:
    """The video through the pose extra, once for the module (decoding and pose take about half a minute)."""
    return load_clip(shared_data / "video" / "squat_gym_side.mp4", action="A16")


def test_the_real_squat_video_gives_a_skeleton_whose_two_squats_are_segmented(squat: Clip) -> None:
    clip = squat
    assert clip.skeleton.frames == 614
    assert not {"pelvis", "left_knee", "right_knee"} & set(clip.skeleton.missing_joints())
    reps = segment_skeleton(clip.skeleton, eccentric_first=True)
    assert len(reps) == 2, "the lifter walks in, then squats twice"


def test_the_squat_report_says_how_the_side_view_was_read_and_no_check_waits_for_a_toe(
    squat: Clip, kg: KnowledgeGraph
) -> None:
    report = assess(kg, squat)
    assert report.view.facing in ("left", "right") and report.view.facing_cue == "toes"
    assert report.view.sides.get("leg") and not report.view.toes_estimated and report.view.x_scale == 1.0
    reasons = [s.reason for rep in report.repetitions for s in rep.skipped]
    assert not any("foot" in r or "toe" in r or "facing" in r for r in reasons), reasons


def test_toe_tips_estimated_on_the_real_video_land_on_the_tracked_ones(squat: Clip) -> None:
    """Geometry, no labels: the squat's tracked toes hidden, the estimate (pixels, so no picture shape to
    read) lands within 0.05 torso lengths of them, half the knee-over-toe rule's margin."""
    cleaned, sides = clean_skeleton(squat.skeleton)
    tracked = Recording(positions=np.array(cleaned.positions), fps=cleaned.fps, sides=sides, ears=cleaned.ears)
    hidden = np.array(cleaned.positions)
    for side in SIDES:
        hidden[:, JOINT_INDEX[f"{side}_foot"]] = np.nan
    estimate = Recording(positions=hidden, fps=cleaned.fps, sides=sides, ears=cleaned.ears)
    assert estimate.facing.cue != "toes" and estimate.estimated_toes == SIDES
    for side in SIDES:
        error = (estimate.joint(f"{side}_foot", slice(None), along_floor=True)
                 - tracked.joint(f"{side}_foot", slice(None)))[:, 0] / tracked.torso_length()
        assert np.nanmedian(np.abs(error)) < 0.05
