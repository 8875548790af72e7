"""The learned scorer: trains end to end, records what it was trained on, scores rules written after training."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from conftest import new_error_type

torch = pytest.importorskip("torch")

from flexaqa.api.core import load_graph  # noqa: E402
from flexaqa.engine.assess import assess  # noqa: E402
from flexaqa.engine.scoring import Observation, repetition_score  # noqa: E402
from flexaqa.kg import KnowledgeGraph  # noqa: E402
from flexaqa.models import checkpoint, manifest  # noqa: E402
from flexaqa.models.predict import Predictor  # noqa: E402
from flexaqa.models.scorer import ScorerConfig, expected_score  # noqa: E402
from flexaqa.models.train import TrainConfig, train  # noqa: E402
from flexaqa.synth.generate import Options, generate, synthetic_set  # noqa: E402

NEW_ERROR_TYPE = new_error_type()
"""An error type with a rule and no detector: only the model can speak for it."""


@pytest.fixture(scope="module")
def tiny_data(kg: KnowledgeGraph, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twelve synthetic repetitions of two actions in the FLEX layout, with labels."""
    root = tmp_path_factory.mktemp("tiny_synth")
    generate(kg, root, Options(per_action=6, seed=3), actions=["A16", "A01"])
    return root


@pytest.fixture(scope="module")
def tiny_checkpoint(kg: KnowledgeGraph, tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    train(kg, tiny_data, path, TrainConfig(epochs=2, batch_size=4, model=ScorerConfig(hidden=16)))
    return path


def with_new_error_type(ontology_copy: Path) -> KnowledgeGraph:
    (ontology_copy / "actions" / "A16_extra_rules.ttl").write_text(NEW_ERROR_TYPE, encoding="utf-8")
    return load_graph(ontology_copy)


def test_a_tiny_config_trains_end_to_end_from_the_command_line_and_loads_back(
        kg: KnowledgeGraph, tiny_data: Path, tmp_path: Path, flexaqa) -> None:
    out = flexaqa("train", str(tiny_data), "--out", str(tmp_path / "m.pt"), "--epochs", "2", "--hidden", "16",
                  "--camera-views", "0.5")
    assert out.returncode == 0, out.stderr
    assert "rho" in out.stdout and "combined" in out.stdout and "2D views" in out.stdout
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same graph: no warning
        model, record = checkpoint.load(tmp_path / "m.pt", kg)
    assert record["kg_version"] == kg.version and record["modalities"] == ["skeleton", "emg"]
    assert manifest.read(tmp_path / "m.pt") == {k: record[k] for k in manifest.FIELDS}  # readable without torch
    assert record["config"]["hidden"] == 16 and record["train"]["epochs"] == 2 and record["train"]["seed"] == 0
    assert record["train"]["camera_views"] == 0.5 and record["skeletons"] == ["2D", "3D"]
    combined = record["metrics"]["combined"]
    assert {"rho", "rel_l2", "detection", "ece", "span_iou", "key_step_accuracy"} <= set(combined)
    assert 0 <= combined["key_step_accuracy"] <= 1 and 0 <= combined["ece"] <= 1
    assert set(record["thresholds"]) == set(kg.rules) and all(0 < t <= 1 for t in record["thresholds"].values())
    assert "FKGScorer(hidden=16" in repr(model)


def test_the_comparison_writes_one_table_with_every_scorer(kg: KnowledgeGraph, tiny_data: Path, tmp_path: Path,
                                                           flexaqa) -> None:
    out = flexaqa("eval", "compare", str(tiny_data), "--out", str(tmp_path / "results.md"), "--epochs", "1",
                  "--hidden", "16", "--hold-out-errors", "ET003")
    assert out.returncode == 0, out.stderr
    table = (tmp_path / "results.md").read_text(encoding="utf-8")
    for row in ("rules only", "no-graph regressor", "graph on, skeleton+sEMG", "graph on, skeleton |",
                "graph on, sEMG", "graph off", "rules + model merged", "never saw them labelled"):
        assert row in table, row
    result = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    rules = result["rows"]["rules only (Turtle detectors)"]
    # the synthetic labels were made through these detectors: the rules find what has a detector...
    assert rules["detection_with_detector"]["f1"] > 0.9
    # ...and the regressor predicts a score and no errors
    assert set(result["rows"]["no-graph regressor (FLEX-style, skeleton+sEMG, score only)"]) == {"rho", "rel_l2"}
    assert result["zero_shot"]["errors"] == ["ET003"]
    assert isinstance(result["zero_shot"]["types"]["ET003"]["measured_alike"], bool)
    assert re.search(r"\| ET003 \|( [0-9.]+ \|){5} (yes|no) \|", table)  # one row per hidden type


def test_training_is_reproducible_from_its_seed(kg: KnowledgeGraph, tiny_data: Path, tmp_path: Path) -> None:
    config = TrainConfig(epochs=1, batch_size=4, model=ScorerConfig(hidden=16))
    first, second = (train(kg, tiny_data, tmp_path / f"{i}.pt", config) for i in range(2))
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_a_checkpoint_loaded_against_an_edited_graph_warns_and_says_what_changed(
        tiny_checkpoint: Path, ontology_copy: Path) -> None:
    edited = with_new_error_type(ontology_copy)
    with pytest.warns(checkpoint.GraphChangedWarning, match=r"1 rule\(s\) added \(A16_AK46_ET900\).*1 error type"):
        checkpoint.load(tiny_checkpoint, edited)


@pytest.mark.parametrize(("file", "before", "after"), [
    ("actions/A16_barbell_back_squat.ttl", "fkg:weight 10 ;", "fkg:weight 9 ;"),  # a rule weight: a node feature
    ("errors.ttl", '"Knees cave inward"@en', '"Knees collapse inward"@en'),  # a label: the text the GNN reads
])
def test_an_edit_the_model_reads_makes_the_graph_new_to_a_checkpoint(
        tiny_checkpoint: Path, ontology_copy: Path, file: str, before: str, after: str) -> None:
    path = ontology_copy / file
    text = path.read_text(encoding="utf-8")
    assert before in text
    path.write_text(text.replace(before, after, 1), encoding="utf-8")
    with pytest.warns(checkpoint.GraphChangedWarning, match="same rules and error types"):
        Predictor(tiny_checkpoint, load_graph(ontology_copy))


def test_an_error_type_added_in_turtle_gets_a_model_probability(
        kg: KnowledgeGraph, tiny_checkpoint: Path, ontology_copy: Path) -> None:
    edited = with_new_error_type(ontology_copy)
    with pytest.warns(checkpoint.GraphChangedWarning):
        predictor = Predictor(tiny_checkpoint, edited)
    clip = synthetic_set(kg, "A16", [[], []], seed=5)
    findings = predictor.findings(edited, clip)
    new = [f for f in findings if f.rule == "A16_AK46_ET900"]
    assert [f.repetition for f in new] == [1, 2] and all(0 <= f.probability <= 1 for f in new)
    assert all(0 <= f.time_span[0] <= f.time_span[1] <= clip.skeleton.duration for f in new)
    report = assess(edited, clip, model_findings=findings)
    for rep in report.repetitions:
        skipped = {s.rule for s in rep.skipped}
        assert "A16_AK46_ET900" not in skipped  # the model checked what no detector could
        # a rule the model was trained on but never saw an error of stays unchecked: it has nothing to say
        seen = set(predictor.record["rules_seen"])
        assert skipped == {r.id for r in kg.rules_of("A16") if r.detector is None and r.id not in seen}
    assert "tiny.pt" in report.detectors and kg.version in report.detectors


@pytest.mark.parametrize("edit", ["none", "threshold"])
def test_on_its_training_graph_a_checkpoint_scores_without_pytorch_geometric(
        tiny_checkpoint: Path, ontology_copy: Path, edit: str) -> None:
    """The checkpoint stores its graph's node embeddings, so inference needs no graph encoder; a Turtle edit the
    model does not read (a detector's threshold: a new KG version, the same exported graph) changes nothing."""
    if edit == "threshold":
        squat = ontology_copy / "actions" / "A16_barbell_back_squat.ttl"
        text = squat.read_text(encoding="utf-8")
        assert "fkg:threshold 0.7 " in text
        squat.write_text(text.replace("fkg:threshold 0.7 ", "fkg:threshold 0.65 ", 1), encoding="utf-8")
    probe = ("import sys, warnings; warnings.simplefilter('error'); from api.core import load_graph; "
             "from models.predict import Predictor; "
             f"from synth.generate import synthetic_set; kg = load_graph({str(ontology_copy)!r}); "
             f"found = Predictor({str(tiny_checkpoint)!r}, kg).findings(kg, synthetic_set(kg, 'A16', [[]], seed=1)); "
             "print(kg.version, len(found), 'pyg' if 'torch_geometric' in sys.modules else 'no pyg')")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr  # warnings are errors: no GraphChangedWarning either
    version, count, verdict = out.stdout.split(maxsplit=2)
    trained_on = torch.load(tiny_checkpoint, weights_only=True)["kg_version"]
    assert (version != trained_on) == (edit == "threshold")
    assert int(count) > 0 and verdict.strip() == "no pyg"


def test_the_model_score_is_the_engines_penalty_formula(kg: KnowledgeGraph) -> None:
    rules = kg.rules_of("A16")
    probs = torch.linspace(0, 1, len(rules), requires_grad=True)
    weight = torch.tensor([r.weight for r in rules])
    score = expected_score(probs[None], weight, torch.ones(1, len(rules), dtype=torch.bool))
    observed = [Observation(r.weight, p) for r, p in zip(rules, probs.tolist(), strict=True)]
    engine = repetition_score(kg.w_max("A16"), observed)
    assert float(score.detach()) == pytest.approx(engine.expected, abs=1e-4)
    score.sum().backward()
    assert torch.allclose(probs.grad, -100 * weight / kg.w_max("A16"))


def test_two_ranks_train_under_torchrun_and_agree(tiny_data: Path, tmp_path: Path) -> None:
    """Both ranks leave the process group together (barrier, then destroy, in a ``finally``): a rank that
    exited with gloo still alive once hung at process exit."""
    out = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "flexaqa",
                          "train", str(tiny_data), "--out", str(tmp_path / "ddp.pt"), "--epochs", "1",
                          "--hidden", "16"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    record = torch.load(tmp_path / "ddp.pt", weights_only=True)["train"]
    assert record["world"] == 2 and record["ranks_agree"] is True


def test_the_rule_path_never_imports_torch(tmp_path: Path) -> None:
    probe = ("import sys; from flexaqa.api.cli import main; main(sys.argv[1:]); "
             "print('torch imported' if 'torch' in sys.modules else 'no torch')")
    for args in (["rules", "check"], ["assess", "--format", "json", "--no-model"]):
        out = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip().endswith("no torch"), args


def test_the_model_is_on_by_default_names_its_checkpoint_and_speaks_only_where_the_rules_abstained(flexaqa) -> None:
    """With ``--no-model`` the report is the rules' own (the golden example report). By default every rule error
    stays as it was, and the model adds errors (marked ``model``) only for rules the rules left unchecked."""

    def stable(report: dict) -> dict:
        report = {k: v for k, v in report.items() if k not in ("timings_ms", "kg_version", "detectors")}
        return json.loads(re.sub(r"(\.ttl):\d+", r"\1", json.dumps(report, sort_keys=True)))

    rules_only = flexaqa("assess", "--format", "json", "--no-model")
    with_model = flexaqa("assess", "--format", "json")
    assert rules_only.returncode == with_model.returncode == 0, rules_only.stderr + with_model.stderr
    rules_only, with_model = stable(json.loads(rules_only.stdout)), json.loads(with_model.stdout)
    assert re.fullmatch(r"rule detectors from Turtle \+ model default\.pt \(trained on KG [0-9a-f]+\)",
                        with_model["detectors"])
    golden = json.loads((Path(__file__).parent / "data" / "example_report.json").read_text(encoding="utf-8"))
    assert rules_only == stable(golden)
    with_model = stable(with_model)
    for alone, helped in zip(rules_only["repetitions"], with_model["repetitions"], strict=True):
        assert [e for e in helped["errors"] if e["source"] == "rule"] == alone["errors"]
        unchecked = {s["rule"] for s in alone["skipped"]}
        assert {e["rule"] for e in helped["errors"] if e["source"] == "model"} <= unchecked
        assert {s["rule"] for s in helped["skipped"]} <= unchecked
        assert helped["points_checked"] >= alone["points_checked"]


def test_a_missing_checkpoint_is_named_without_a_traceback(tiny_data: Path, tmp_path: Path, flexaqa) -> None:
    out = flexaqa("eval", "model", str(tiny_data), "--checkpoint", str(tmp_path / "none.pt"))
    assert out.returncode == 1 and "none.pt: no such checkpoint" in out.stderr and "Traceback" not in out.stderr


def test_one_predictor_serves_every_version_of_the_graph(kg: KnowledgeGraph, ontology_copy: Path) -> None:
    """A service whose rules are edited keeps one model: after an edit it re-encodes the graph (and says what
    changed) instead of loading the checkpoint again, and the rule added in Turtle is checked by the model."""
    from flexaqa.api.core import assess_clip, load_model, model_findings

    edited = with_new_error_type(ontology_copy)
    clip = synthetic_set(kg, "A16", [[]], seed=5)
    with pytest.warns(checkpoint.GraphChangedWarning, match="A16_AK46_ET900"):
        report = assess_clip(edited, clip, model_findings=model_findings(edited, clip))
    assert load_model(edited) is load_model(kg)
    assert "model default.pt" in report.detectors
    assert "A16_AK46_ET900" not in {s.rule for rep in report.repetitions for s in rep.skipped}


def test_a_manifest_is_none_for_what_is_not_a_flexaqa_checkpoint(tiny_checkpoint: Path, tmp_path: Path) -> None:
    """Then the caller loads the file, whose error names the problem; a real checkpoint's manifest is a dict."""
    (tmp_path / "junk.pt").write_bytes(b"not a zip")
    torch.save({"a": torch.ones(1)}, tmp_path / "plain.pt")  # a torch archive with no manifest entry
    for path in (tmp_path / "missing.pt", tmp_path / "junk.pt", tmp_path / "plain.pt"):
        assert manifest.read(path) is None, path
    assert manifest.read(tiny_checkpoint)["skeletons"] == ["3D"]


def test_rules_measured_alike_share_a_detector_measure_or_a_fault_motion(kg: KnowledgeGraph) -> None:
    from flexaqa.models.compare import measured_alike

    def measure(rule):
        d, m = rule.detector, rule.fault_motion
        return ((d.feature, d.joints, d.comparator) if d else None,
                (m.dof, m.quantity, m.amount > 0) if m else None)

    rules = list(kg.rules.values())
    twins = [(a, b) for a in rules for b in rules if a is not b and a.detector and b.detector
             and measure(a)[0] == measure(b)[0]]
    moved = [(a, b) for a in rules for b in rules if a is not b and not a.detector and not b.detector
             and a.fault_motion and measure(a)[1] == measure(b)[1]]
    strangers = [(a, b) for a in rules for b in rules if measure(a)[0] != measure(b)[0] and measure(a)[1] is None
                 and measure(b)[1] is None]
    assert twins and moved and strangers
    assert all(measured_alike(a, b) for a, b in (twins[0], moved[0]))
    assert not any(measured_alike(a, b) for a, b in strangers[:50])
