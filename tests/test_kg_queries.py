"""The shipped competency queries answer what a coach or researcher asks."""

from __future__ import annotations

from flexaqa.kg import KnowledgeGraph


def test_eccentric_errors_of_the_back_squat_come_heaviest_first_with_their_cue(kg: KnowledgeGraph) -> None:
    rows = kg.run_named("errors_in_phase", action="A16", phase="Eccentric", lang="en")
    assert rows
    weights = [r["weight"] for r in rows]
    assert weights == sorted(weights, reverse=True)
    eccentric_steps = {s.id for s in kg.key_steps_of("A16") if s.phase == "Eccentric"}
    expected = {r.error_type for r in kg.rules_of("A16") if r.key_step in eccentric_steps}
    assert {r["error"] for r in rows} == expected
    assert all(r["cue"] == kg.error_types[r["error"]].feedback.cue["en"] for r in rows)
    labels = " ".join(r["label"].lower() for r in rows)
    assert "shallow" in labels or "depth" in labels, "missing depth is the classic descent fault of the squat"
    assert rows[0]["severity"] == "JointSafety"


def test_knees_caving_in_is_a_fault_of_the_squat_ascent(kg: KnowledgeGraph) -> None:
    rows = kg.run_named("errors_in_phase", action="A16", phase="Concentric", lang="en")
    assert any("knee" in r["label"].lower() and r["severity"] == "JointSafety" for r in rows)


def test_the_same_question_answers_in_chinese(kg: KnowledgeGraph) -> None:
    rows = kg.run_named("errors_in_phase", action="A16", phase="Eccentric", lang="zh")
    assert rows and all(r["cue"] == kg.error_types[r["error"]].feedback.cue["zh"] for r in rows)


def test_knees_caving_in_is_shared_by_the_squats_and_the_lunge(kg: KnowledgeGraph) -> None:
    valgus = [e for e in kg.error_types.values() if "cave" in e.label["en"].lower()]
    assert len(valgus) == 1
    rows = kg.run_named("actions_sharing_error", error=valgus[0].id)
    assert {"A08", "A16", "A18"} <= {r["action"] for r in rows}


def test_muscles_of_the_back_squat_and_their_emg_channels(kg: KnowledgeGraph) -> None:
    rows = kg.run_named("action_muscles", action="A16")
    primary = {r["muscleLabel"].lower() for r in rows if r["role"] == "primary"}
    assert any("quadriceps" in m for m in primary) and any("glute" in m for m in primary)
    watched = {(r["muscle"], r["side"]) for r in rows if r["channel"] is not None}
    assert watched and {side for _, side in watched} == {"Left", "Right"}
    channels = [r["channel"] for r in rows if r["channel"] is not None]
    assert len(channels) == len(set(channels))


def test_key_steps_of_an_action_come_in_performance_order(kg: KnowledgeGraph) -> None:
    rows = kg.run_named("action_key_steps", action="A16")
    assert [r["keyStep"] for r in rows] == [s.id for s in kg.key_steps_of("A16")]
    assert rows[0]["phase"] == "Preparation" and rows[-1]["phase"] == "Concentric"


def test_error_feedback_in_one_language(kg: KnowledgeGraph) -> None:
    error = kg.rules_of("A16")[0].error_type
    row = kg.run_named("error_feedback", error=error, lang="zh")[0]
    assert row["cue"] == kg.error_types[error].feedback.cue["zh"]
    assert row["minWeight"] <= kg.rules_of("A16")[0].weight <= row["maxWeight"]


def test_typed_views_agree_with_sparql(kg: KnowledgeGraph) -> None:
    rows = kg.select("SELECT ?r ?w WHERE { ?r a fkg:PenaltyRule ; fkg:weight ?w }")
    assert {r["r"]: float(r["w"]) for r in rows} == {r.id: r.weight for r in kg.rules.values()}
    assert all(str(r.source).startswith("actions/") for r in kg.rules.values())
