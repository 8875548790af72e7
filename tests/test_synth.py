"""The synthetic generator writes the FLEX layout with its labels, and the FLEX reader reads it back."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from flexaqa.clips.flex import FlexDataset
from flexaqa.clips.labels import read_labels
from flexaqa.kg import KnowledgeGraph
from flexaqa.kg.per_graph import PerGraph
from flexaqa.synth import inject
from flexaqa.synth.generate import Options, generate
from flexaqa.synth.inject import clean_firing, plan_for

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
    assert len(read) == len(labels.samples) == 10
    for sample in labels.samples:
        got = read[(sample.action, sample.index)]
        assert got.clip.skeleton.frames == sample.frames
        assert got.score == pytest.approx(sample.score)
        assert got.clip.emg.samples.shape[1] == len(kg.action(sample.action).emg_channels)
        assert got.clip.views and got.clip.views[0].frame_count == sample.frames


def test_labels_score_is_the_penalty_of_the_injected_errors(dataset: Path, kg: KnowledgeGraph) -> None:
    for sample in read_labels(dataset).samples:
        lost = sum(kg.rules[e.rule].weight for e in sample.errors)
        assert sample.score == pytest.approx(100 * (1 - lost / kg.w_max(sample.action)), abs=1e-3)
        for error in sample.errors:
            assert error.time_span == sample.key_steps[error.key_step]


def test_some_repetitions_carry_errors_and_some_are_clean(dataset: Path) -> None:
    counts = [len(s.errors) for s in read_labels(dataset).samples]
    assert 0 in counts and any(counts)


def test_generation_is_deterministic_per_seed(tmp_path: Path, kg: KnowledgeGraph, dataset: Path) -> None:
    generate(kg, tmp_path, Options(per_action=5, seed=7), ACTIONS)
    again, first = read_labels(tmp_path), read_labels(dataset)
    assert again.samples == first.samples
    a = np.loadtxt(tmp_path / "Skeleton" / "A01" / "003" / "skeleton_points.csv", delimiter=",", skiprows=1)
    b = np.loadtxt(dataset / "Skeleton" / "A01" / "003" / "skeleton_points.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("action", [f"A{i:02d}" for i in range(1, 21)])
def test_a_clean_synthetic_repetition_fires_no_detector(kg: KnowledgeGraph, action: str) -> None:
    """The Turtle poses and the Turtle thresholds agree: correct form is not penalised."""
    assert clean_firing(kg, action, 30.0) == set()


def test_labels_record_the_graph_and_rates_they_were_made_with(dataset: Path, kg: KnowledgeGraph) -> None:
    labels = read_labels(dataset)
    assert (labels.format_version, labels.kg_version, labels.seed) == (1, kg.version, 7)
    assert labels.fps > 0 and labels.emg_rate > 0


def test_an_equal_graph_reuses_the_injection_plan_and_an_old_graph_can_be_freed(ontology_copy: Path) -> None:
    """Plans are kept per graph version, not per graph object: a reloaded graph of the same Turtle finds
    the plan already made, and a graph swapped out is not kept alive by the cache."""
    old, new = KnowledgeGraph.load(ontology_copy), KnowledgeGraph.load(ontology_copy)
    assert old is not new and old.version == new.version
    plan = plan_for(old, "A04", 30.0)
    gone = weakref.ref(old)
    del old
    gc.collect()
    assert gone() is None
    assert plan_for(new, "A04", 30.0) is plan


def test_injection_plans_of_old_graph_versions_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inject, "_plans", PerGraph(inject.PLANS_KEPT))
    monkeypatch.setattr(inject, "_plan", lambda kg, action, fps: {"rule": (None, frozenset())})
    graphs = [SimpleNamespace(version=f"v{i}") for i in range(inject.PLANS_KEPT + 1)]
    first = plan_for(graphs[0], "A04", 30.0)
    assert plan_for(graphs[0], "A04", 30.0) is first
    last = [plan_for(graph, "A04", 30.0) for graph in graphs[1:]]
    assert plan_for(graphs[-1], "A04", 30.0) is last[-1]
    assert plan_for(graphs[0], "A04", 30.0) is not first


def test_the_readme_recipe_still_makes_the_shipped_example(kg: KnowledgeGraph) -> None:
    from flexaqa.api.core import EXAMPLE_CLIP
    from flexaqa.clips.files import load_bundle
    from flexaqa.synth.generate import synthetic_set

    made = synthetic_set(kg, "A16", [[], ["A16_AK47_ET032"], ["A16_AK46_ET054"], ["A16_AK47_ET032"]], seed=2026)
    shipped = load_bundle(EXAMPLE_CLIP)
    assert np.allclose(made.skeleton.positions, shipped.skeleton.positions, atol=1e-6, equal_nan=True)
    assert np.allclose(made.emg.samples, shipped.emg.samples, atol=1e-3)  # float32 on disk


def test_a_fault_motion_on_a_degree_of_freedom_the_body_lacks_is_rejected_at_load(ontology_copy: Path) -> None:
    from flexaqa.kg import ShapeViolationError
    from flexaqa.synth.body import check_degrees_of_freedom

    shrug = ontology_copy / "actions" / "A06_dumbbell_shrug.ttl"
    shrug.write_text(shrug.read_text().replace("fkg:changes fkg:DOF_protract", "fkg:changes fkg:DOF_scapula", 1)
                     + '\nfkg:DOF_scapula a fkg:DegreeOfFreedom ; fkg:dofName "scapula" ; qudt:unit unit:M ;\n'
                     + '    rdfs:label "scapula"@en .\n')
    with pytest.raises(ShapeViolationError) as caught:
        KnowledgeGraph.load(ontology_copy, checks=[check_degrees_of_freedom])
    (violation,) = caught.value.violations
    assert violation.file.endswith("A06_dumbbell_shrug.ttl") and violation.line and "'scapula'" in violation.message
