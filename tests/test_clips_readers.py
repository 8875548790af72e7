"""Readers: real MediaPipe CSVs through the layout mapper; NPY/JSON/CSV/MAT in, validated models out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from flexaqa.clips.errors import ClipError
from flexaqa.clips.layouts import JOINT_INDEX
from flexaqa.clips.readers import (
    read_emg_csv,
    read_emg_mat,
    read_emg_npy,
    read_skeleton_csv,
    read_skeleton_json,
    read_skeleton_npy,
)

ARMS = {"left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist"}
HIPS = {"left_hip", "right_hip", "pelvis", "thorax"}
LEGS = {"left_knee", "right_knee", "left_ankle", "right_ankle"}


def _pose_file(shared_data: Path, name: str) -> Path:
    path = shared_data / "pose" / name
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


def test_real_upper_body_csv_maps_arms_and_trunk(shared_data: Path):
    read = read_skeleton_csv(_pose_file(shared_data, "bicep_curl_lean_back_mediapipe.csv"), fps=30)
    skel = read.skeleton
    assert skel.frames == 604
    assert skel.layout == "MediaPipe-33" and not skel.is_3d
    present = {name for name in JOINT_INDEX if name not in read.missing}
    assert ARMS | HIPS <= present
    assert "left_knee" in read.missing
    assert read.labels is not None and len(read.labels) == 604 and set(read.labels) == {"C", "L"}
    assert skel.confidence is not None and 0 <= np.nanmin(skel.confidence) <= np.nanmax(skel.confidence) <= 1


def test_real_upper_body_csv_has_y_up(shared_data: Path):
    skel = read_skeleton_csv(_pose_file(shared_data, "bicep_curl_lean_back_mediapipe.csv"), fps=30).skeleton
    assert np.nanmedian(skel.joint("head")[:, 1]) > np.nanmedian(skel.joint("pelvis")[:, 1])


def test_real_full_body_csv_maps_legs(shared_data: Path):
    read = read_skeleton_csv(_pose_file(shared_data, "lunge_knee_over_toe_mediapipe.csv"), fps=30)
    assert read.skeleton.frames == 1107
    present = {name for name in JOINT_INDEX if name not in read.missing}
    assert {"left_shoulder", "right_shoulder"} | HIPS | LEGS | {"left_foot", "right_foot"} <= present
    head, ankle = read.skeleton.joint("head")[:, 1], read.skeleton.joint("left_ankle")[:, 1]
    assert np.nanmedian(head) > np.nanmedian(ankle)


def test_real_full_body_csv_with_depth_is_3d(shared_data: Path):
    path = _pose_file(shared_data, "lunge_knee_over_toe_mediapipe.csv")
    read = read_skeleton_csv(path, fps=30, use_depth=True)
    assert read.skeleton.is_3d


def test_csv_without_any_layout_column_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("label,foo_x,foo_y\nC,1,2\n")
    with pytest.raises(ClipError) as err:
        read_skeleton_csv(path, fps=30)
    assert err.value.field == "skeleton.csv"


def test_csv_with_text_in_a_coordinate_names_row_and_column(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("nose_x,nose_y\n0.1,0.2\n0.1,oops\n")
    with pytest.raises(ClipError, match="row 3 column 'nose_y'"):
        read_skeleton_csv(path, fps=30)


def test_npy_in_coco_order_with_confidence(tmp_path):
    data = np.random.default_rng(0).random((6, 17, 3))
    np.save(tmp_path / "pose.npy", data)
    read = read_skeleton_npy(tmp_path / "pose.npy", "COCO-17", fps=25, has_confidence=True)
    assert read.skeleton.positions.shape == (6, 21, 2)
    np.testing.assert_allclose(read.skeleton.joint("left_wrist")[:, 1], -data[:, 9, 1])
    np.testing.assert_allclose(read.skeleton.confidence[:, JOINT_INDEX["left_wrist"]], data[:, 9, 2])


def test_json_skeleton(tmp_path):
    frames = np.random.default_rng(1).random((4, 25, 3)).tolist()
    path = tmp_path / "pose.json"
    path.write_text(json.dumps({"layout": "NTU-25", "fps": 30, "frames": frames}))
    read = read_skeleton_json(path)
    assert read.skeleton.is_3d and read.skeleton.layout == "NTU-25"
    np.testing.assert_allclose(read.skeleton.joint("thorax"), np.asarray(frames)[:, 20])


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"fps": 30, "frames": [[[0, 0]] * 17] * 3}, "skeleton.layout"),
        ({"layout": "COCO-17", "frames": [[[0, 0]] * 17] * 3}, "skeleton.fps"),
        ({"layout": "COCO-17", "fps": 30, "frames": [[[0, 0]] * 17, [[0, 0]] * 16]}, "skeleton.frames"),
        ({"layout": "COCO-17", "fps": 30, "frames": [[[0, 0]] * 17]}, "skeleton.positions"),
        ({"layout": "Vicon-39", "fps": 30, "frames": [[[0, 0]] * 17] * 3}, "skeleton.layout"),
    ],
)
def test_bad_json_names_the_field(doc, field):
    with pytest.raises(ClipError) as err:
        read_skeleton_json(doc)
    assert err.value.field == field


def test_emg_csv_with_header(tmp_path):
    path = tmp_path / "emg.csv"
    samples = np.random.default_rng(2).normal(size=(50, 3))
    np.savetxt(path, samples, delimiter=",", header="biceps_l,biceps_r,triceps_l", comments="", fmt="%.17g")
    emg = read_emg_csv(path, sampling_rate=2000)
    assert emg.channel_names == ("biceps_l", "biceps_r", "triceps_l")
    np.testing.assert_array_equal(emg.samples, samples)


def test_emg_csv_rate_from_time_column_else_required(tmp_path):
    path = tmp_path / "emg.csv"
    time = np.arange(20) / 1000.0
    np.savetxt(path, np.column_stack([time, np.ones(20)]), delimiter=",", header="time,ch", comments="")
    emg = read_emg_csv(path)
    assert emg.sampling_rate == pytest.approx(1000.0)
    assert emg.channel_names == ("ch",)
    np.savetxt(path, np.ones((20, 1)), delimiter=",", header="ch", comments="")
    with pytest.raises(ClipError) as err:
        read_emg_csv(path)
    assert err.value.field == "emg.sampling_rate"


def test_emg_npy(tmp_path):
    np.save(tmp_path / "emg.npy", np.zeros((30, 2)))
    emg = read_emg_npy(tmp_path / "emg.npy", sampling_rate=1000, channels=["a", "b"])
    assert emg.channel_names == ("a", "b")


def test_emg_mat_detects_rate_orientation_and_selects_channels(tmp_path):
    data = np.arange(300.0).reshape(3, 100)  # channels as rows: transposed on read
    labels = np.array(["a", "b", "c"])
    scipy.io.savemat(tmp_path / "emg.mat", {"signals": data, "fs": 1024.0, "labels": labels})
    emg = read_emg_mat(tmp_path / "emg.mat", channels=[2, 0])
    assert emg.sampling_rate == 1024
    assert emg.channel_names == ("c", "a")
    np.testing.assert_array_equal(emg.samples[:, 0], data[2])


def test_emg_mat_without_rate_is_refused(tmp_path):
    scipy.io.savemat(tmp_path / "emg.mat", {"signals": np.zeros((100, 2))})
    with pytest.raises(ClipError) as err:
        read_emg_mat(tmp_path / "emg.mat")
    assert err.value.field == "emg.sampling_rate"


def test_corrupt_files_are_clip_errors(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x00\x01garbage")
    readers = (read_emg_mat, lambda p: read_emg_npy(p, 1000), read_skeleton_json)
    for reader in readers:
        with pytest.raises(ClipError):
            reader(bad)
    with pytest.raises(ClipError):
        read_skeleton_csv(tmp_path / "absent.csv", fps=30)


def test_csv_joint_without_its_y_column_is_named(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("nose_x,nose_y,left_hip_x\n0.1,0.2,0.3\n0.1,0.2,0.3\n")
    with pytest.raises(ClipError, match="left_hip_y"):
        read_skeleton_csv(path, fps=30)


def test_csv_empty_cell_drops_the_whole_point(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("nose_x,nose_y\n0.1,0.2\n0.1,\n0.1,0.2\n")
    head = read_skeleton_csv(path, fps=30).skeleton.joint("head")
    assert np.isnan(head[1]).all() and np.isfinite(head[[0, 2]]).all()


def test_emg_csv_without_header_is_all_data(tmp_path):
    path = tmp_path / "emg.csv"
    np.savetxt(path, np.arange(12.0).reshape(6, 2), delimiter=",")
    emg = read_emg_csv(path, sampling_rate=2000)
    assert emg.samples.shape == (6, 2) and emg.samples[0, 1] == 1.0
