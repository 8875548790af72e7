"""The synthetic generator writes the FLEX layout with exact labels, and the FLEX reader reads it back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clips.flex import FlexDataset
from engine.synth.generate import Options, generate, read_labels
from kg import KnowledgeGraph

ACTIONS = ["A01", "A16"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory, kg: KnowledgeGraph) -> Path:
    root = tmp_path_factory.mktemp("synth")
    generate(kg, root, Options(per_action=5, seed=7, views=1), ACTIONS)
    return root


def test_writes_the_flex_layout(dataset: Path) -> None:
    assert (dataset / "Skeleton" / "A16" / "001" / "skeleton_points.csv").is_file()
    assert (dataset / "EMG" / "A16" / "001" / "EMG.csv").is_file()
    assert any((dataset / "A16" / "001" / "View-1").glob("img_*.JPG"))
    assert (dataset / "Split_4" / "split_4_train_list.mat").is_file()


def test_reader_round_trip_gives_the_same_arrays_and_scores(dataset: Path, kg: KnowledgeGraph) -> None:
    labels = read_labels(dataset)
    data = FlexDataset(dataset)
    read = {(s.action, s.index): s for split in ("train", "test") for s in data.samples(split)}
    assert len(read) == len(labels["samples"]) == 10
    for sample in labels["samples"]:
        got = read[(sample["action"], sample["index"])]
        assert got.clip.skeleton.frames == sample["frames"]
        assert got.score == pytest.approx(sample["score"])
        assert got.clip.emg.samples.shape[1] == len(kg.action(sample["action"]).emg_channels)
        assert got.clip.views and got.clip.views[0].frame_count == sample["frames"]


def test_labels_score_is_the_penalty_of_the_injected_errors(dataset: Path, kg: KnowledgeGraph) -> None:
    for sample in read_labels(dataset)["samples"]:
        lost = sum(kg.rules[e["rule"]].weight for e in sample["errors"])
        assert sample["score"] == pytest.approx(100 * (1 - lost / kg.w_max(sample["action"])), abs=1e-3)
        for error in sample["errors"]:
            start, stop = sample["key_steps"][error["key_step"]]
            assert error["time_span"] == [start, stop]


def test_some_repetitions_carry_errors_and_some_are_clean(dataset: Path) -> None:
    counts = [len(s["errors"]) for s in read_labels(dataset)["samples"]]
    assert 0 in counts and any(counts)


def test_generation_is_deterministic_per_seed(tmp_path: Path, kg: KnowledgeGraph, dataset: Path) -> None:
    generate(kg, tmp_path, Options(per_action=5, seed=7), ACTIONS)
    again, first = read_labels(tmp_path), read_labels(dataset)
    assert again["samples"] == first["samples"]
    a = np.loadtxt(tmp_path / "Skeleton" / "A01" / "003" / "skeleton_points.csv", delimiter=",", skiprows=1)
    b = np.loadtxt(dataset / "Skeleton" / "A01" / "003" / "skeleton_points.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("action", [f"A{i:02d}" for i in range(1, 21)])
def test_a_clean_synthetic_repetition_fires_no_detector(kg: KnowledgeGraph, action: str) -> None:
    """The Turtle poses and the Turtle thresholds agree: correct form is not penalised."""
    from engine.synth.inject import clean_firing

    assert clean_firing(kg, action, 30.0) == set()
