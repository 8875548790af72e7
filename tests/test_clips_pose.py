"""Pose from the real gym video, with the optional pose extra (MediaPipe 0.10.21, bundled model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clips import pose
from clips.files import load_clip
from clips.segmentation import segment_skeleton

pytestmark = pytest.mark.skipif(not pose.available(), reason="the pose extra is not installed: "
                                "pip install 'flexaqa[pose]' (mediapipe 0.10.21 needs numpy<2)")


def test_the_real_squat_video_gives_a_skeleton_whose_two_squats_are_segmented(shared_data: Path) -> None:
    clip = load_clip(shared_data / "video" / "squat_gym_side.mp4", action="A16")
    assert clip.skeleton.frames == 614
    assert not {"pelvis", "left_knee", "right_knee"} & set(clip.skeleton.missing_joints())
    reps = segment_skeleton(clip.skeleton, eccentric_first=True)
    assert len(reps) == 2, "the lifter walks in, then squats twice"
