"""Segmentation: a set splits into the reps a coach would count, each with its phases in order."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from flexaqa.clips.emg import EMG, preprocess
from flexaqa.clips.layouts import JOINT_INDEX
from flexaqa.clips.readers import read_skeleton_csv
from flexaqa.clips.segmentation import segment_emg, segment_skeleton
from flexaqa.clips.skeleton import Skeleton

logger = logging.getLogger(__name__)
FPS = 30.0
REST_S, REP_S = 1.0, 2.5


def _set_profile(reps: int, seed: int = 0) -> np.ndarray:
    """0 at rest, rising smoothly to 1 at each rep's turn and back, with rests between reps."""
    rest = np.zeros(int(REST_S * FPS))
    rep = (1 - np.cos(np.linspace(0, 2 * np.pi, int(REP_S * FPS)))) / 2
    profile = np.concatenate([rest, *([rep, rest] * reps)])
    return profile + np.random.default_rng(seed).normal(scale=0.01, size=profile.size)


def _body(frames: int) -> np.ndarray:
    """A standing 3D body, y up, metres."""
    heights = {"head": 1.7, "neck": 1.55, "thorax": 1.45, "spine": 1.2, "pelvis": 1.0, "left_hip": 1.0,
               "right_hip": 1.0, "left_knee": 0.5, "right_knee": 0.5, "left_ankle": 0.1, "right_ankle": 0.1,
               "left_foot": 0.0, "right_foot": 0.0, "left_shoulder": 1.45, "right_shoulder": 1.45,
               "left_elbow": 1.15, "right_elbow": 1.15, "left_wrist": 0.85, "right_wrist": 0.85,
               "left_hand": 0.78, "right_hand": 0.78}  # fmt: skip
    pose = np.zeros((21, 3))
    for name, y in heights.items():
        side = 0.2 if name.startswith("left") else -0.2 if name.startswith("right") else 0.0
        pose[JOINT_INDEX[name]] = (side, y, 0.0)
    return np.repeat(pose[None], frames, axis=0)


def _lowering_set(reps: int) -> Skeleton:
    """Everything above the knees drops 0.45 m at each rep's bottom; knees drop less; feet stay."""
    depth = 0.45 * _set_profile(reps)
    positions = _body(depth.size)
    for name in ("head", "neck", "thorax", "spine", "pelvis", "left_hip", "right_hip", "left_shoulder",
                 "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand",
                 "right_hand"):  # fmt: skip
        positions[:, JOINT_INDEX[name], 1] -= depth
    for knee in ("left_knee", "right_knee"):
        positions[:, JOINT_INDEX[knee], 1] -= 0.2 * depth
        positions[:, JOINT_INDEX[knee], 2] += 0.5 * depth  # knees travel forward
    return Skeleton(positions=positions, fps=FPS)


def _lifting_set(reps: int) -> Skeleton:
    """Hands rise 0.5 m and come forward at each rep's top; the rest of the body is still."""
    lift = 0.5 * _set_profile(reps)
    positions = _body(lift.size)
    for name in ("left_wrist", "right_wrist", "left_hand", "right_hand"):
        positions[:, JOINT_INDEX[name], 1] += lift
        positions[:, JOINT_INDEX[name], 2] += 0.6 * lift
    return Skeleton(positions=positions, fps=FPS)


def test_set_of_five_lowering_first_gives_five_reps_in_phase_order():
    skel = _lowering_set(5)
    reps = segment_skeleton(skel, eccentric_first=True)
    assert len(reps) == 5
    pelvis = skel.joint("pelvis")[:, 1]
    for i, rep in enumerate(reps):
        true_turn = int((REST_S + i * (REP_S + REST_S) + REP_S / 2) * FPS)
        assert abs(rep.turn - true_turn) <= 3
        assert [p.name for p in rep.phases] == ["eccentric", "concentric"]
        assert rep.phases[0].start == rep.start and rep.phases[0].end == rep.turn == rep.phases[1].start
        assert rep.phases[1].end == rep.end
        assert pelvis[rep.start] > pelvis[rep.turn] < pelvis[rep.end - 1]
        assert (rep.end - rep.start) / FPS == pytest.approx(REP_S, abs=0.6)
    assert all(a.end <= b.start for a, b in zip(reps, reps[1:], strict=False))


def test_set_lifting_first_starts_concentric():
    skel = _lifting_set(5)
    reps = segment_skeleton(skel, eccentric_first=False)
    assert len(reps) == 5
    wrist = skel.joint("right_wrist")[:, 1]
    for rep in reps:
        assert [p.name for p in rep.phases] == ["concentric", "eccentric"]
        assert wrist[rep.turn] > wrist[rep.start] + 0.4


def test_a_still_body_has_no_reps():
    positions = _body(120) + np.random.default_rng(0).normal(scale=1e-4, size=(120, 21, 3))
    assert segment_skeleton(Skeleton(positions=positions, fps=FPS)) == []


def test_real_full_body_set_is_counted(shared_data: Path):
    """The file alternates standing and bottom poses: about 14-16 bottoms by eye (nose height)."""
    path = shared_data / "pose" / "lunge_knee_over_toe_mediapipe.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    skel = read_skeleton_csv(path, fps=30).skeleton
    reps = segment_skeleton(skel, eccentric_first=True)
    logger.info("real full-body set: %d reps, turns at %s", len(reps), [r.turn for r in reps])
    assert 11 <= len(reps) <= 17
    head = skel.joint("head")[:, 1]
    lower_at_turn = sum(head[r.turn] < head[r.start] for r in reps)
    assert lower_at_turn == len(reps)


def test_emg_bursts_give_reps_without_a_skeleton():
    rate = 2000.0
    rng = np.random.default_rng(3)
    t = np.arange(int(14 * rate)) / rate
    gain = 0.05 + sum(np.exp(-(((t - c) / 0.35) ** 2)) for c in (2, 5, 8, 11))
    sos = signal.butter(4, (40, 200), btype="bandpass", fs=rate, output="sos")
    raw = signal.sosfilt(sos, rng.normal(size=(t.size, 2)), axis=0) * gain[:, None]
    reps = segment_emg(preprocess(EMG(samples=raw, sampling_rate=rate)), min_rep_s=1.5)
    assert len(reps) == 4
    assert [round(r.turn / rate) for r in reps] == [2, 5, 8, 11]


def test_emg_noise_without_bursts_has_no_reps():
    noise = np.random.default_rng(4).normal(size=(20000, 2))
    assert segment_emg(preprocess(EMG(samples=noise, sampling_rate=2000.0))) == []
