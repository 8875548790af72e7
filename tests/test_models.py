"""The learned scorer: trains end to end, records what it was trained on, scores rules written after training."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from api.core import load_graph  # noqa: E402
from engine.assess import assess  # noqa: E402
from engine.scoring import Observation, repetition_score  # noqa: E402
from kg import KnowledgeGraph  # noqa: E402
from models import checkpoint  # noqa: E402
from models.predict import Predictor  # noqa: E402
from models.scorer import ScorerConfig, expected_score  # noqa: E402
from models.train import TrainConfig, train  # noqa: E402
from synth.generate import Options, generate, synthetic_set  # noqa: E402

NEW_ERROR_TYPE = '''
@prefix fkg:  <https://w3id.org/flexaqa/fkg#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .

fkg:ET900 a fkg:ErrorType ; rdfs:label "Chest drops at the bottom"@en , "底部塌胸"@zh ;
    fkg:severityClass fkg:CoreStability ; fkg:feedback fkg:FB900 .
fkg:FB900 a fkg:Feedback ;
    fkg:cue "Proud chest all the way down."@en , "下蹲全程挺胸。"@zh ;
    fkg:explanation "Test explanation."@en , "测试说明。"@zh .
fkg:A16_AK46_ET900 a fkg:PenaltyRule ; fkg:action fkg:A16 ; fkg:keyStep fkg:AK46 ; fkg:errorType fkg:ET900 ;
    fkg:weight 8 .
'''
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
    out = flexaqa("train", str(tiny_data), "--out", str(tmp_path / "m.pt"), "--epochs", "2", "--hidden", "16")
    assert out.returncode == 0, out.stderr
    assert "rho" in out.stdout and "combined" in out.stdout
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same graph: no warning
        model, record = checkpoint.load(tmp_path / "m.pt", kg)
    assert record["kg_version"] == kg.version and record["modalities"] == ["skeleton", "emg"]
    assert record["config"]["hidden"] == 16 and record["train"]["epochs"] == 2 and record["train"]["seed"] == 0
    assert {"rho", "rel_l2", "detection"} <= set(record["metrics"]["combined"])
    assert "FKGScorer(hidden=16" in repr(model)


def test_training_is_reproducible_from_its_seed(kg: KnowledgeGraph, tiny_data: Path, tmp_path: Path) -> None:
    config = TrainConfig(epochs=1, batch_size=4, model=ScorerConfig(hidden=16))
    first, second = (train(kg, tiny_data, tmp_path / f"{i}.pt", config) for i in range(2))
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_a_checkpoint_loaded_against_an_edited_graph_warns_and_says_what_changed(
        tiny_checkpoint: Path, ontology_copy: Path) -> None:
    edited = with_new_error_type(ontology_copy)
    with pytest.warns(checkpoint.GraphChangedWarning, match=r"1 rule\(s\) added \(A16_AK46_ET900\).*1 error type"):
        checkpoint.load(tiny_checkpoint, edited)


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
        assert skipped == {r.id for r in kg.rules_of("A16") if r.detector is None}
    assert "tiny.pt" in report.detectors and kg.version in report.detectors


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


@pytest.mark.skipif(not os.environ.get("FLEXAQA_TEST_DDP"), reason="opt-in (FLEXAQA_TEST_DDP=1): a gloo rank "
                    "was seen to hang at process exit once in a loaded full run, after training finished")
def test_two_ranks_train_under_torchrun_and_agree(tiny_data: Path, tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "api.cli",
                          "train", str(tiny_data), "--out", str(tmp_path / "ddp.pt"), "--epochs", "1",
                          "--hidden", "16"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    record = torch.load(tmp_path / "ddp.pt", weights_only=True)["train"]
    assert record["world"] == 2 and record["ranks_agree"] is True


def test_the_rule_path_never_imports_torch(tmp_path: Path) -> None:
    probe = ("import sys; from api.cli import main; main(sys.argv[1:]); "
             "print('torch imported' if 'torch' in sys.modules else 'no torch')")
    for args in (["rules", "check"], ["assess", "--format", "json"]):
        out = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip().endswith("no torch"), args


def test_the_model_is_opt_in_and_names_its_checkpoint(flexaqa) -> None:
    """By default the report is the rules' own (the golden example report); ``--model`` differs from it only
    in ``detectors`` here, because the model speaks only where a detector abstained and it has learned something."""

    def stable(report: dict) -> dict:
        report = {k: v for k, v in report.items() if k not in ("timings_ms", "kg_version", "detectors")}
        return json.loads(re.sub(r"(\.ttl):\d+", r"\1", json.dumps(report, sort_keys=True)))

    rules_only = flexaqa("assess", "--format", "json")
    with_model = flexaqa("assess", "--format", "json", "--model")
    assert rules_only.returncode == with_model.returncode == 0, rules_only.stderr + with_model.stderr
    rules_only, with_model = json.loads(rules_only.stdout), json.loads(with_model.stdout)
    assert rules_only["detectors"] == "rule detectors from Turtle"
    assert re.fullmatch(r"rule detectors from Turtle \+ model default\.pt \(trained on KG [0-9a-f]+\)",
                        with_model["detectors"])
    golden = json.loads((Path(__file__).parent / "data" / "example_report.json").read_text(encoding="utf-8"))
    assert stable(rules_only) == stable(with_model) == stable(golden)


def test_a_missing_checkpoint_is_named_without_a_traceback(tiny_data: Path, tmp_path: Path, flexaqa) -> None:
    out = flexaqa("eval", "model", str(tiny_data), "--checkpoint", str(tmp_path / "none.pt"))
    assert out.returncode == 1 and "none.pt: no such checkpoint" in out.stderr and "Traceback" not in out.stderr
