"""Every supported layout lands on the same 21 internal joints, y up, with honest gaps."""

from __future__ import annotations

import numpy as np
import pytest

from flexaqa.clips.errors import ClipError
from flexaqa.clips.layouts import (
    JOINT_INDEX,
    JOINTS,
    LAYOUTS,
    get_layout,
    map_confidence_to_internal,
    map_to_internal,
)


def _numbered(layout: str, dims: int, frames: int = 4) -> np.ndarray:
    """Keypoints whose x is the source joint number, so the mapping can be read back."""
    joints = len(get_layout(layout).joints)
    data = np.zeros((frames, joints, dims))
    data[:, :, 0] = np.arange(joints)
    data[:, :, 1] = 10.0 + np.arange(joints)
    return data


def test_internal_joint_order_is_fixed():
    assert JOINTS[:5] == ("pelvis", "spine", "thorax", "neck", "head")
    assert JOINTS[-4:] == ("right_hip", "right_knee", "right_ankle", "right_foot")
    assert len(JOINTS) == 21


def test_flex_is_the_internal_order():
    data = _numbered("FLEX-21", 3)
    out, missing = map_to_internal(data, "FLEX-21")
    np.testing.assert_array_equal(out, data)
    assert missing == []


def test_ntu_maps_spine_points_and_thorax():
    out, missing = map_to_internal(_numbered("NTU-25", 3), "NTU-25")
    x = out[0, :, 0]
    assert x[JOINT_INDEX["pelvis"]] == 0  # SpineBase
    assert x[JOINT_INDEX["spine"]] == 1  # SpineMid
    assert x[JOINT_INDEX["thorax"]] == 20  # SpineShoulder
    assert x[JOINT_INDEX["right_foot"]] == 19
    assert missing == []


def test_coco_derives_trunk_and_flips_image_y_up():
    out, missing = map_to_internal(_numbered("COCO-17", 2), "COCO-17")
    x, y = out[0, :, 0], out[0, :, 1]
    assert x[JOINT_INDEX["pelvis"]] == pytest.approx((11 + 12) / 2)
    assert x[JOINT_INDEX["thorax"]] == pytest.approx((5 + 6) / 2)
    assert x[JOINT_INDEX["spine"]] == pytest.approx(((11 + 12) / 2 + (5 + 6) / 2) / 2)
    assert x[JOINT_INDEX["neck"]] == pytest.approx(0.75 * 5.5 + 0.25 * 0)  # towards the nose
    assert y[JOINT_INDEX["head"]] == -10.0  # image y down -> internal y up
    assert set(missing) == {"left_hand", "right_hand", "left_foot", "right_foot"}


def test_openpose_keeps_its_own_neck():
    out, missing = map_to_internal(_numbered("OpenPose-18", 2), "OpenPose-18")
    assert out[0, JOINT_INDEX["neck"], 0] == 1
    assert out[0, JOINT_INDEX["left_wrist"], 0] == 7
    assert set(missing) == {"left_hand", "right_hand", "left_foot", "right_foot"}


def test_openpose_body_25_has_its_mid_hip_and_toes():
    out, missing = map_to_internal(_numbered("OpenPose-25", 2), "OpenPose-25")
    assert out[0, JOINT_INDEX["pelvis"], 0] == 8, "BODY_25's own mid-hip"
    assert out[0, JOINT_INDEX["left_foot"], 0] == (19 + 20) / 2, "between the big and the small toe"
    assert out[0, JOINT_INDEX["right_foot"], 0] == (22 + 23) / 2
    assert set(missing) == {"left_hand", "right_hand"}


def test_mediapipe_hand_is_index_pinky_mean_and_foot_is_foot_index():
    out, missing = map_to_internal(_numbered("MediaPipe-33", 3), "MediaPipe-33")
    x = out[0, :, 0]
    assert x[JOINT_INDEX["left_hand"]] == pytest.approx((19 + 17) / 2)
    assert x[JOINT_INDEX["right_foot"]] == 32
    assert missing == []


def test_mediapipe_depth_is_flipped_to_point_at_the_viewer():
    data = _numbered("MediaPipe-33", 3)
    data[:, :, 2] = 0.5  # MediaPipe: larger z is farther from the camera
    out, _ = map_to_internal(data, "MediaPipe-33")
    assert (out[:, :, 2] == -0.5).all()


def test_missing_source_joints_stay_nan_per_frame():
    data = _numbered("COCO-17", 2)
    data[1, 11] = np.nan  # left hip gone in frame 1
    out, missing = map_to_internal(data, "COCO-17")
    assert np.isnan(out[1, JOINT_INDEX["left_hip"]]).all()
    assert np.isnan(out[1, JOINT_INDEX["pelvis"]]).all()
    assert np.isfinite(out[0, JOINT_INDEX["pelvis"]]).all()
    assert "pelvis" not in missing


def test_confidence_maps_like_positions():
    conf = np.tile(np.linspace(0, 1, 33), (3, 1))
    out = map_confidence_to_internal(conf, "MediaPipe-33")
    assert out.shape == (3, 21)
    assert out[0, JOINT_INDEX["left_hand"]] == pytest.approx((conf[0, 17] + conf[0, 19]) / 2)


def test_layout_names_are_case_insensitive():
    assert get_layout("mediapipe-33").name == "MediaPipe-33"


def test_unknown_layout_names_the_field_and_lists_known():
    with pytest.raises(ClipError) as err:
        map_to_internal(np.zeros((2, 17, 2)), "Human36M-17")
    assert err.value.field == "skeleton.layout"
    assert all(name in err.value.problem for name in LAYOUTS)


@pytest.mark.parametrize(
    ("shape", "layout"), [((5, 16, 2), "COCO-17"), ((5, 17), "COCO-17"), ((5, 21, 2), "FLEX-21")]
)
def test_wrong_shape_for_layout_is_refused(shape, layout):
    with pytest.raises(ClipError) as err:
        map_to_internal(np.zeros(shape), layout)
    assert err.value.field == "skeleton.positions"
