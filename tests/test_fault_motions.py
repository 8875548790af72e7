"""Declared fault motions: a rule without a detector states in Turtle how its error looks in motion, SHACL
checks the statement, and the synthetic generator injects and labels the error from it with no Python that
names the rule."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import edit, rejected

from flexaqa.clips.labels import read_labels
from flexaqa.clips.layouts import JOINT_INDEX
from flexaqa.engine.detectors import NO_DETECTOR, NO_MODALITY, evaluate
from flexaqa.engine.timeline import key_step_spans
from flexaqa.kg import KnowledgeGraph
from flexaqa.kg.entities import FaultMotion, MotionQuantity
from flexaqa.synth.body import DOFS, Proportions, expand, positions
from flexaqa.synth.generate import Options, generate, simulate
from flexaqa.synth.inject import RAMP_S, Knob, apply, plan_for, recording
from flexaqa.synth.motion import Tempo, animate

ROW = "actions/A07_dumbbell_one_arm_row.ttl"
LUNGE = "actions/A08_dumbbell_lunge.ttl"
SHRUG_MOTION = "fkg:changes fkg:DOF_shrug ; fkg:amount 0.05 ; qudt:unit unit:M ;"
GAIN_MOTION = "fkg:changes fkg:MuscleGain ; fkg:amount 0.5 ;"



def test_fault_motions_are_read_into_the_rules(kg: KnowledgeGraph) -> None:
    assert kg.rules["A07_AK19_ET009"].fault_motion == FaultMotion(amount=0.05, dof="shrug")
    assert kg.rules["A08_AK24_ET033"].fault_motion == FaultMotion(
        amount=0.5, quantity=MotionQuantity.MuscleGain, muscle="Quadriceps", side="left")
    assert kg.rules["A07_AK19_ET026"].fault_motion.quantity == MotionQuantity.MuscleOnsetDelay
    assert kg.rules["A19_AK54_ET018"].fault_motion.dof == "thigh", "an unsided degree of freedom: both sides"
    assert kg.rules["A01_AK03_ET007"].fault_motion is None, "breathing: no modality shows it"


def test_every_rule_without_a_detector_has_a_fault_motion_or_says_why_not(kg: KnowledgeGraph) -> None:
    for rule in kg.rules.values():
        if rule.detector is not None or rule.fault_motion is not None:
            continue
        lines = (kg.root / rule.source.file).read_text(encoding="utf-8").splitlines()
        assert lines[rule.source.line - 2].startswith("# No fault motion: "), rule.id


def test_every_fault_motion_gives_its_reason_and_sits_on_a_rule_without_a_detector(kg: KnowledgeGraph) -> None:
    rows = kg.select("""SELECT ?r ?why WHERE { ?r fkg:faultMotion ?m .
                        OPTIONAL { ?m rdfs:comment ?why FILTER (LANGMATCHES(LANG(?why), "en")) } }""")
    assert len(rows) == sum(r.fault_motion is not None for r in kg.rules.values()) > 10
    assert all(row["why"] and len(row["why"]) > 80 for row in rows), [r["r"] for r in rows if not r["why"]]
    assert all(kg.rules[row["r"]].detector is None for row in rows)


@pytest.mark.parametrize(("rel", "rule", "old", "new", "message"), [
    (ROW, "A07_AK19_ET009", SHRUG_MOTION, "fkg:changes fkg:DOF_scapula ; fkg:amount 0.05 ; qudt:unit unit:M ;",
     "neither a fkg:DegreeOfFreedom nor a fkg:MotionQuantity"),
    (ROW, "A07_AK19_ET009", SHRUG_MOTION, "fkg:changes fkg:DOF_shrug ; qudt:unit unit:M ;", "numeric fkg:amount"),
    (ROW, "A07_AK19_ET009", SHRUG_MOTION, "fkg:changes fkg:DOF_shrug ; fkg:amount 0 ; qudt:unit unit:M ;",
     "by 0, which shows nothing"),
    (ROW, "A07_AK19_ET009", SHRUG_MOTION, "fkg:changes fkg:DOF_shrug ; fkg:amount 5 ; qudt:unit unit:DEG ;",
     "measured in http://qudt.org/vocab/unit/M"),
    (ROW, "A07_AK19_ET009", f"fkg:faultMotion [ a fkg:FaultMotion ;\n        {SHRUG_MOTION}",
     f"fkg:faultMotion [\n        {SHRUG_MOTION}", "[ a fkg:FaultMotion"),
    (LUNGE, "A08_AK24_ET033", GAIN_MOTION, "fkg:changes fkg:MuscleGain ; fkg:amount 0 ;", "is a factor"),
    (LUNGE, "A08_AK24_ET033", GAIN_MOTION, "fkg:changes fkg:MuscleGain ; fkg:amount -0.5 ;", "is a factor"),
    (LUNGE, "A08_AK24_ET033", "fkg:changedMuscle fkg:Quadriceps", "fkg:changedMuscle fkg:BicepsBrachii",
     "BicepsBrachii has no sEMG channel in fkg:A08's montage"),
    (LUNGE, "A08_AK24_ET033", "fkg:changedMuscle fkg:Quadriceps ; ", "", "needs fkg:changedMuscle"),
])
def test_a_malformed_fault_motion_is_a_shape_violation_at_its_rules_line(
    kg: KnowledgeGraph, ontology_copy: Path, rel: str, rule: str, old: str, new: str, message: str
) -> None:
    edit(ontology_copy, rel, old, new)
    violations = rejected(ontology_copy)
    assert any(message in v.message for v in violations), violations
    hit = next(v for v in violations if message in v.message)
    assert (hit.file, hit.line) == (rel, kg.rules[rule].source.line)
    assert hit.focus == f"{rule}/faultMotion"


def test_a_fault_motion_on_a_rule_that_has_a_detector_is_rejected(kg: KnowledgeGraph, ontology_copy: Path) -> None:
    squat = "actions/A16_barbell_back_squat.ttl"
    edit(ontology_copy, squat, "fkg:errorType fkg:ET032 ;\n    fkg:weight 10 ;",
         "fkg:errorType fkg:ET032 ;\n    fkg:faultMotion [ a fkg:FaultMotion ; fkg:changes fkg:DOF_knee_in ; "
         "fkg:amount 0.15 ; qudt:unit unit:UNITLESS ] ;\n    fkg:weight 10 ;")
    (violation,) = rejected(ontology_copy)
    assert "has a detector" in violation.message and violation.focus == "A16_AK47_ET032/faultMotion"
    assert (violation.file, violation.line) == (squat, kg.rules["A16_AK47_ET032"].source.line)


def test_a_declared_but_unimplemented_motion_quantity_is_rejected_at_load(
    kg: KnowledgeGraph, ontology_copy: Path
) -> None:
    edit(ontology_copy, ROW, SHRUG_MOTION, "fkg:changes fkg:BarSpeed ; fkg:amount 2 ; qudt:unit unit:UNITLESS ;",
         append='\nfkg:BarSpeed a fkg:MotionQuantity ; qudt:unit unit:UNITLESS ; rdfs:label "bar speed"@en .\n')
    (violation,) = rejected(ontology_copy)
    assert (violation.file, violation.line) == (ROW, kg.rules["A07_AK19_ET009"].source.line)
    assert violation.focus == "A07_AK19_ET009/faultMotion" and "not implemented" in violation.message


def test_the_generator_plans_the_declared_change_and_what_else_it_fires(kg: KnowledgeGraph) -> None:
    plan = plan_for(kg, "A08", 30.0)
    assert plan["A08_AK23_ET032"] == (Knob("knee_in", 0.15), frozenset())
    assert plan["A08_AK24_ET033"][0] == Knob("emg_gain_left", 0.5, "Quadriceps")
    assert plan_for(kg, "A19", 30.0)["A19_AK54_ET018"][0] == Knob("both_thigh", 20.0)
    assert plan_for(kg, "A01", 30.0)["A01_AK03_ET007"] == (None, frozenset())


def test_an_injected_fault_motion_changes_the_body_in_its_key_step_only(kg: KnowledgeGraph) -> None:
    rule = kg.rules["A07_AK19_ET009"]
    clean = simulate(kg, "A07", np.random.default_rng(5), errors=[], noise_m=0.0)
    faulty = simulate(kg, "A07", np.random.default_rng(5), errors=[rule.id], noise_m=0.0)
    assert faulty.injected == [rule.id]
    rise = (faulty.positions - clean.positions)[:, JOINT_INDEX["left_shoulder"], 1]
    fps = faulty.rep.fps
    span = key_step_spans(kg, "A07", faulty.rep.start, faulty.rep.turn, faulty.rep.end)[rule.key_step]
    ramp = round(RAMP_S * fps)
    assert rise[span.start + ramp:span.stop].min() == pytest.approx(0.05, abs=1e-6)
    assert np.abs(rise[:span.start - ramp]).max() < 1e-9, "nothing changes before the key step"


def test_an_sEMG_fault_motion_changes_only_the_declared_muscle_and_side(kg: KnowledgeGraph) -> None:
    act = kg.action("A08")
    rep = animate(act, 30.0, Tempo())
    _, gains, delays = apply(kg, "A08", rep, kg.rules["A08_AK24_ET033"], plan_for(kg, "A08", 30.0)[
        "A08_AK24_ET033"][0], Tempo())
    assert gains == {("Quadriceps", "left"): 0.5} and not delays
    base = recording(kg, "A08", rep, Proportions()).envelope
    changed = recording(kg, "A08", rep, Proportions(), gains).envelope
    ratio = changed.max(axis=0) / base.max(axis=0)
    quads = [i for i, c in enumerate(sorted(act.emg_channels, key=lambda c: c.index)) if c.muscle == "Quadriceps"]
    assert ratio[quads[0]] == pytest.approx(0.5, rel=0.01) and ratio[quads[1]] == pytest.approx(1.0)


def test_synth_labels_detector_less_errors_with_their_key_step_span(kg: KnowledgeGraph, tmp_path: Path) -> None:
    labels = generate(kg, tmp_path, Options(per_action=8, seed=4, error_rate=1.0), ["A07"])
    assert read_labels(tmp_path) == labels
    found = [(s, e) for s in labels.samples for e in s.errors if kg.rules[e.rule].detector is None]
    assert found, "no detector-less error was labelled"
    for sample, error in found:
        assert kg.rules[error.rule].fault_motion is not None
        assert error.key_step == kg.rules[error.rule].key_step
        assert error.time_span == sample.key_steps[error.key_step]
        lost = sum(kg.rules[e.rule].weight for e in sample.errors)
        assert sample.score == pytest.approx(100 * (1 - lost / kg.w_max("A07")), abs=1e-3)


def test_a_fault_motion_added_in_turtle_is_injected_with_no_python_change(ontology_copy: Path) -> None:
    rule = "A02_AK04_ET008"
    path = ontology_copy / "actions/A02_dumbbell_hammer_curl.ttl"
    text = path.read_text(encoding="utf-8")
    block = re.search(rf"fkg:{rule} a fkg:PenaltyRule ;.*?fkg:countingMode fkg:OncePerRepetition( \.)", text, re.S)
    motion = (' ;\n    fkg:faultMotion [ a fkg:FaultMotion ; fkg:changes fkg:DOF_fore_out ; fkg:amount 25 ;'
              ' <http://qudt.org/schema/qudt/unit> <http://qudt.org/vocab/unit/DEG> ] .')
    path.write_text(text[:block.start(1)] + motion + text[block.end(1):], encoding="utf-8")
    edited = KnowledgeGraph.load(ontology_copy)
    assert plan_for(edited, "A02", 30.0)[rule][0] == Knob("both_fore_out", 25.0)
    sim = simulate(edited, "A02", np.random.default_rng(1), errors=[rule])
    assert rule in sim.injected
    labels = generate(edited, ontology_copy.parent / "data", Options(per_action=20, seed=2, error_rate=1.0), ["A02"])
    assert any(e.rule == rule for s in labels.samples for e in s.errors)


def test_rules_without_a_detector_abstain_saying_whether_the_model_can_see_them(kg: KnowledgeGraph) -> None:
    rep = animate(kg.action("A01"), 30.0, Tempo())
    rec = recording(kg, "A01", rep, Proportions())
    spans = key_step_spans(kg, "A01", rep.start, rep.turn, rep.end)
    declared = evaluate(kg.rules["A01_AK03_ET006"], rec, spans["AK03"])
    unseen = evaluate(kg.rules["A01_AK03_ET007"], rec, spans["AK03"])
    assert (declared.status, declared.reason) == ("abstained", NO_DETECTOR)
    assert (unseen.status, unseen.reason) == ("abstained", NO_MODALITY)


@pytest.mark.parametrize(("dof", "joint", "moved", "still"), [
    ("protract", "left_shoulder", ("left_elbow", "right_shoulder"), ("thorax", "head")),
    ("twist", "left_shoulder", ("right_shoulder",), ("thorax", "pelvis")),
    ("neck", "head", (), ("neck", "thorax", "left_shoulder")),
    ("l_wrist", "left_hand", (), ("left_wrist", "right_hand")),
])
def test_the_fault_only_degrees_of_freedom_move_their_joints_and_rest_at_zero(
    dof: str, joint: str, moved: tuple[str, ...], still: tuple[str, ...]
) -> None:
    rest = {d: np.full(2, v) for d, v in expand({}).items()}
    assert set(rest) == set(DOFS)
    bent = dict(rest, **{dof: np.array([0.0, 0.05 if dof == "protract" else 30.0])})
    before, after = positions(rest, Proportions()), positions(bent, Proportions())
    np.testing.assert_allclose(after[0], before[0])
    shift = np.linalg.norm(after[1] - before[1], axis=-1)
    assert shift[JOINT_INDEX[joint]] > 0.03
    assert all(shift[JOINT_INDEX[j]] > 0.03 for j in moved)
    assert all(shift[JOINT_INDEX[j]] < 1e-9 for j in still)
