"""2D camera views of 3D training skeletons (models.views): the geometry of a view, and a checkpoint trained
with some that speaks for a 2D clip where a 3D-only one declines."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from flexaqa.clips.clip import Clip  # noqa: E402
from flexaqa.clips.layouts import JOINT_INDEX, JOINTS  # noqa: E402
from flexaqa.clips.skeleton import Skeleton  # noqa: E402
from flexaqa.kg import KnowledgeGraph  # noqa: E402
from flexaqa.models.data import load_splits  # noqa: E402
from flexaqa.models.predict import Predictor  # noqa: E402
from flexaqa.models.scorer import ScorerConfig  # noqa: E402
from flexaqa.models.train import TrainConfig, train  # noqa: E402
from flexaqa.models.views import camera_views, random_azimuths, untracked_joints  # noqa: E402


def test_a_view_keeps_the_picture_plane_in_torso_lengths_and_zeroes_what_its_layout_lacks() -> None:
    frames = torch.randn(64, 8, len(JOINTS), 3)
    views = camera_views(frames, torch.Generator().manual_seed(0))
    assert views.shape == frames.shape and (views[..., 2] == 0).all()
    torso = (views[:, :, JOINT_INDEX["thorax"], :2] - views[:, :, JOINT_INDEX["pelvis"], :2]).norm(dim=-1)
    assert torso.median(dim=1).values == pytest.approx(torch.ones(64), abs=1e-5)  # seen as a 2D recording is
    zeroed = (views == 0).all(dim=(1, 3))  # (B, J): joints blank in every frame
    assert zeroed.any(), "some views are drawn with a layout that has no hands or toes"
    assert all(any(torch.equal(row, mask) for mask in untracked_joints()) for row in zeroed)
    hands = [JOINT_INDEX["left_hand"], JOINT_INDEX["right_hand"]]
    assert untracked_joints()[:, hands].any() and not untracked_joints().all(dim=0).any()


def test_most_views_look_from_the_side_facing_either_way() -> None:
    azimuth = random_azimuths(4000, torch.Generator().manual_seed(1))
    from_side = torch.minimum(azimuth % math.pi, math.pi - azimuth % math.pi) <= math.radians(30)
    assert 0.75 <= from_side.float().mean() <= 0.85  # 3/4 drawn from the side, plus the side share of the rest
    facing_right = torch.cos(azimuth[from_side]) > 0
    assert 0.45 <= facing_right.float().mean() <= 0.55


def test_a_view_turns_the_body_about_the_vertical_by_its_azimuth() -> None:
    body = torch.zeros(1, 2, len(JOINTS), 3)
    body[0, :, JOINT_INDEX["thorax"], 1] = 1.0  # torso straight up, one torso long: the view keeps the scale
    body[0, :, JOINT_INDEX["head"]] = torch.tensor([0.3, 1.4, 0.2])  # ahead (x) and off to the side (z)
    (azimuth,) = random_azimuths(1, torch.Generator().manual_seed(7)).tolist()
    head = camera_views(body, torch.Generator().manual_seed(7))[0, 0, JOINT_INDEX["head"]]  # same draw
    expected = [0.3 * math.cos(azimuth) + 0.2 * math.sin(azimuth), 1.4, 0.0]
    assert head.tolist() == pytest.approx(expected, abs=1e-6)


@pytest.fixture(scope="module")
def two_d_checkpoint(kg: KnowledgeGraph, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from flexaqa.synth.generate import Options, generate

    root = tmp_path_factory.mktemp("views_synth")
    generate(kg, root, Options(per_action=6, seed=5), actions=["A01"])
    path = root / "views.pt"
    metrics = train(kg, root, path, TrainConfig(epochs=2, batch_size=4, camera_views=0.5,
                                                model=ScorerConfig(hidden=16)))
    return path, metrics


def test_a_checkpoint_trained_with_camera_views_records_2d_and_is_measured_on_views(
        kg: KnowledgeGraph, two_d_checkpoint: tuple[Path, dict]) -> None:
    path, metrics = two_d_checkpoint
    predictor = Predictor(path, kg)
    assert predictor.record["skeletons"] == ["2D", "3D"] and predictor.record["train"]["camera_views"] == 0.5
    assert {"combined", "2D views"} <= set(metrics) and "rho" in metrics["2D views"]


def test_a_2d_clip_gets_model_findings_from_a_camera_view_checkpoint(
        kg: KnowledgeGraph, two_d_checkpoint: tuple[Path, dict], caplog: pytest.LogCaptureFixture) -> None:
    path, _ = two_d_checkpoint
    t = np.linspace(0, 6, 180)
    positions = np.zeros((len(t), len(JOINTS), 2))  # a curl from the side: the wrist swings up and down
    for name, (x, y) in {"pelvis": (0, 0), "thorax": (0, 0.5), "head": (0, 0.75), "left_shoulder": (0, 0.5),
                         "right_shoulder": (0, 0.5), "left_hip": (0, 0), "right_hip": (0, 0), "left_knee": (0, -0.45),
                         "right_knee": (0, -0.45), "left_ankle": (0, -0.9), "right_ankle": (0, -0.9)}.items():
        positions[:, JOINT_INDEX[name]] = (x, y)
    angle = (1 - np.cos(2 * np.pi * t / 2)) / 2 * 2.3  # three reps of 2 s, the forearm turning up 130 degrees
    for side in ("left", "right"):
        positions[:, JOINT_INDEX[f"{side}_elbow"]] = (0, 0.2)
        positions[:, JOINT_INDEX[f"{side}_wrist"]] = np.column_stack([0.25 * np.sin(angle), 0.2 - 0.25 * np.cos(angle)])
    clip = Clip(action="A01", skeleton=Skeleton(positions=positions, fps=30.0))
    with caplog.at_level(logging.WARNING, logger="flexaqa.models.predict"):
        findings = Predictor(path, kg).findings(kg, clip)
    assert findings and "trained on 3D skeletons only" not in caplog.text
    assert {f.rule for f in findings} <= set(kg.action("A01").rules)
    assert all(0 <= f.probability <= 1 for f in findings)


def test_views_of_a_split_are_skeleton_only(kg: KnowledgeGraph, two_d_checkpoint: tuple[Path, dict]) -> None:
    test = load_splits(kg, two_d_checkpoint[0].parent)["test"]
    filmed = test.filmed(0)
    assert (filmed.batch["skeleton"][..., 2] == 0).all() and (test.batch["skeleton"][..., 2] != 0).any()
    assert filmed.batch["present"][:, 0].all() and not filmed.batch["present"][:, 1:].any()
    assert torch.equal(filmed.target, test.target)
