"""Skeleton validation names the field; preprocessing fills, centres, scales and resamples as promised."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexaqa.clips.errors import ClipError
from flexaqa.clips.layouts import JOINT_INDEX, JOINTS
from flexaqa.clips.skeleton import (
    Skeleton,
    centre_on_pelvis,
    fill_gaps,
    resample,
    scale_by_torso,
    torso_length,
)


def _standing(frames: int = 10, dims: int = 3) -> np.ndarray:
    """A still body: pelvis at (1, 1), thorax 0.5 above it, other joints spread around."""
    rng = np.random.default_rng(0)
    pose = rng.normal(size=(21, dims))
    pose[JOINT_INDEX["pelvis"]] = 1.0
    pose[JOINT_INDEX["thorax"]] = 1.0
    pose[JOINT_INDEX["thorax"], 1] = 1.5
    return np.repeat(pose[None], frames, axis=0)


def test_valid_skeleton_is_read_only_float64():
    skel = Skeleton(positions=_standing().astype(np.float32), fps=30)
    assert skel.positions.dtype == np.float64
    assert skel.is_3d and skel.frames == 10
    assert skel.duration == pytest.approx(9 / 30)
    with pytest.raises(ValueError):
        skel.positions[0, 0, 0] = 5.0


def test_two_dimensional_skeleton_is_not_3d():
    assert not Skeleton(positions=_standing(dims=2), fps=30).is_3d


ZEROS = np.zeros((10, 21, 3))


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"positions": np.zeros((10, 20, 3)), "fps": 30}, "skeleton.positions", "shape"),
        ({"positions": np.zeros((10, 21, 4)), "fps": 30}, "skeleton.positions", "shape"),
        ({"positions": np.zeros((10, 21)), "fps": 30}, "skeleton.positions", "shape"),
        ({"positions": np.zeros((1, 21, 3)), "fps": 30}, "skeleton.positions", "too short"),
        ({"positions": np.zeros((100_001, 21, 2)), "fps": 30}, "skeleton.positions", "too long"),
        ({"positions": np.full((10, 21, 3), np.inf), "fps": 30}, "skeleton.positions", "inf"),
        ({"positions": np.full((10, 21, 3), np.nan), "fps": 30}, "skeleton.positions", "missing"),
        ({"positions": [["a"]], "fps": 30}, "skeleton.positions", "numeric"),
        ({"positions": ZEROS}, "skeleton.fps", "required"),
        ({"positions": ZEROS, "fps": 0}, "skeleton.fps", "> 0"),
        ({"positions": ZEROS, "fps": float("nan")}, "skeleton.fps", "finite"),
        ({"positions": ZEROS, "fps": 30, "layout": "Kinect-99"}, "skeleton.layout", "unknown"),
        ({"positions": ZEROS, "fps": 30, "confidence": np.ones((10, 20))}, "skeleton.confidence", "shape"),
        (
            {"positions": ZEROS, "fps": 30, "confidence": np.full((10, 21), 2.0)},
            "skeleton.confidence",
            "[0, 1]",
        ),
        ({"positions": ZEROS, "fps": 30, "ears": np.full((10, 2, 3), np.inf)}, "skeleton.ears", "inf"),
        (
            {"positions": ZEROS, "fps": 30, "ears": np.zeros((10, 2, 3)), "ear_confidence": np.full((10, 2), np.inf)},
            "skeleton.ear_confidence",
            "inf",
        ),
    ],
)
def test_bad_skeleton_names_the_field(kwargs, field, words):
    with pytest.raises(ClipError) as err:
        Skeleton(**kwargs)
    assert err.value.field == field
    assert words in err.value.problem
    assert str(err.value) == f"{field}: {err.value.problem}"


def test_half_missing_point_is_refused_but_missing_joint_is_fine():
    positions = _standing()
    positions[:, JOINT_INDEX["left_hand"]] = np.nan
    assert Skeleton(positions=positions, fps=30).missing_joints() == ["left_hand"]
    positions[3, JOINT_INDEX["head"], 1] = np.nan
    with pytest.raises(ClipError, match="frame 3 joint head"):
        Skeleton(positions=positions, fps=30)


def test_fill_gaps_bridges_short_interior_gaps_only():
    positions = _standing(20)
    positions[:, JOINT_INDEX["left_knee"], 0] = np.arange(20.0)
    positions[5:8, JOINT_INDEX["left_knee"]] = np.nan  # 3-frame gap: filled
    positions[10:17, JOINT_INDEX["left_knee"]] = np.nan  # 7-frame gap: kept
    positions[0:2, JOINT_INDEX["right_knee"]] = np.nan  # at the edge: kept
    filled, report = fill_gaps(Skeleton(positions=positions, fps=30), max_gap=5)
    knee = filled.joint("left_knee")
    np.testing.assert_allclose(knee[5:8, 0], [5.0, 6.0, 7.0])
    assert np.isnan(knee[10:17]).all()
    assert np.isnan(filled.joint("right_knee")[:2]).all()
    assert report["left_knee"] == pytest.approx(3 / 20)
    assert report["right_knee"] == 0.0


def test_fill_gaps_treats_low_confidence_as_missing():
    positions = _standing(10)
    positions[:, JOINT_INDEX["head"], 0] = np.arange(10.0)
    positions[4, JOINT_INDEX["head"], 0] = 99.0  # a wild detection
    confidence = np.ones((10, 21))
    confidence[4, JOINT_INDEX["head"]] = 0.1
    skel = Skeleton(positions=positions, fps=30, confidence=confidence)
    filled, report = fill_gaps(skel, max_gap=2, min_confidence=0.5)
    assert filled.joint("head")[4, 0] == pytest.approx(4.0)
    assert report["head"] == pytest.approx(0.1)


def test_centre_and_scale_put_pelvis_at_origin_and_torso_at_one():
    skel = Skeleton(positions=_standing() * 3.0, fps=30)
    assert torso_length(skel) == pytest.approx(1.5)
    norm = scale_by_torso(centre_on_pelvis(skel))
    np.testing.assert_allclose(norm.joint("pelvis"), 0.0)
    assert torso_length(norm) == pytest.approx(1.0)


def test_centre_needs_a_pelvis():
    positions = _standing()
    positions[:, JOINT_INDEX["pelvis"]] = np.nan
    with pytest.raises(ClipError, match="pelvis"):
        centre_on_pelvis(Skeleton(positions=positions, fps=30))


def test_scale_refuses_a_zero_torso():
    with pytest.raises(ClipError) as err:
        scale_by_torso(Skeleton(positions=np.zeros((5, 21, 3)), fps=30))
    assert err.value.field == "skeleton.positions"


def test_resample_keeps_duration_and_endpoints():
    positions = _standing(11)
    positions[:, JOINT_INDEX["head"], 1] = np.linspace(0, 1, 11)
    skel = Skeleton(positions=positions, fps=10, confidence=np.full((11, 21), 0.9))
    out = resample(skel, 21)
    assert out.frames == 21
    assert out.duration == pytest.approx(skel.duration)
    np.testing.assert_allclose(out.joint("head")[:, 1], np.linspace(0, 1, 21))
    assert out.confidence is not None and out.confidence.shape == (21, 21)


@pytest.mark.parametrize("length", [1, 0, -3, 2.5, 200_000])
def test_resample_refuses_bad_lengths(length):
    with pytest.raises(ClipError) as err:
        resample(Skeleton(positions=_standing(), fps=30), length)
    assert err.value.field == "length"


def _runs_to_fill(column: np.ndarray, max_gap: int) -> np.ndarray:
    """The definition, one joint at a time: interior runs of missing frames no longer than max_gap."""
    fill = np.zeros_like(column)
    t = 0
    while t < column.size:
        if not column[t]:
            t += 1
            continue
        end = t
        while end < column.size and column[end]:
            end += 1
        if t > 0 and end < column.size and end - t <= max_gap:
            fill[t:end] = True
        t = end
    return fill


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), frames=st.integers(2, 40), rate=st.sampled_from([0.1, 0.4, 0.8]),
       max_gap=st.integers(0, 6))
def test_fill_gaps_fills_exactly_the_short_interior_runs_of_every_joint(seed, frames, rate, max_gap):
    rng = np.random.default_rng(seed)
    positions = rng.normal(size=(frames, 21, 3))
    missing = rng.random((frames, 21)) < rate
    missing[:, 0] = False  # keep one joint so the skeleton is valid
    positions[missing] = np.nan
    filled, report = fill_gaps(Skeleton(positions=positions, fps=30), max_gap=max_gap)
    for j, name in enumerate(JOINTS):
        expected = _runs_to_fill(missing[:, j], max_gap)
        now_present = ~np.isnan(filled.positions[:, j, 0])
        assert np.array_equal(now_present, ~missing[:, j] | expected), name
        assert report[name] == pytest.approx(expected.mean())


def test_filling_gaps_of_a_skeleton_nobody_is_sure_of_is_a_clear_error():
    positions = np.random.default_rng(0).normal(size=(10, 21, 3))
    skel = Skeleton(positions=positions, fps=30, confidence=np.full((10, 21), 0.2))
    with pytest.raises(ClipError) as err:
        fill_gaps(skel, min_confidence=0.5)
    assert "missing in every frame" in err.value.problem
