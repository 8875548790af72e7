"""The shipped FKG, checked through SPARQL the way a researcher would query it."""

from __future__ import annotations

import pytest

from flexaqa.kg import KnowledgeGraph


def count(kg: KnowledgeGraph, cls: str) -> int:
    return kg.select(f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ ?x a fkg:{cls} }}")[0]["n"]


def test_twenty_actions_ten_barbell_ten_dumbbell(kg: KnowledgeGraph) -> None:
    rows = kg.select("SELECT ?eq (COUNT(?a) AS ?n) WHERE { ?a a fkg:Action ; fkg:equipment ?eq } GROUP BY ?eq")
    assert {r["eq"]: r["n"] for r in rows} == {"Barbell": 10, "Dumbbell": 10}
    assert count(kg, "Action") == 20


def test_lifts_that_raise_first_start_concentric(kg: KnowledgeGraph) -> None:
    assert kg.phases_of("A16") == ["Preparation", "Eccentric", "Concentric"]
    assert kg.phases_of("A01") == ["Preparation", "Concentric", "Eccentric"], "a curl lifts first"
    assert kg.action("A15").first_moving_phase == "Concentric", "a deadlift starts from the floor"


def test_a16_is_the_barbell_back_squat(kg: KnowledgeGraph) -> None:
    rows = kg.select('SELECT ?l WHERE { fkg:A16 rdfs:label ?l ; fkg:equipment fkg:Barbell '
                     'FILTER (LANG(?l) = "en") }')
    assert "back squat" in rows[0]["l"].lower()


def test_fifty_six_key_steps_and_sixty_three_error_types(kg: KnowledgeGraph) -> None:
    assert count(kg, "KeyStep") == 56
    assert count(kg, "ErrorType") == 63
    ids = {r["x"] for r in kg.select("SELECT ?x WHERE { { ?x a fkg:KeyStep } UNION { ?x a fkg:ErrorType } }")}
    assert ids == {f"AK{i:02d}" for i in range(1, 57)} | {f"ET{i:03d}" for i in range(1, 64)}


def test_every_error_type_is_reachable_from_an_action_through_a_key_step(kg: KnowledgeGraph) -> None:
    orphans = kg.select("""SELECT ?e WHERE { ?e a fkg:ErrorType .
        FILTER NOT EXISTS { ?a fkg:containsKeyStep ?k . ?r fkg:action ?a ; fkg:keyStep ?k ; fkg:errorType ?e } }""")
    assert orphans == []


def test_some_key_steps_and_error_types_are_shared_across_actions(kg: KnowledgeGraph) -> None:
    shared_steps = kg.select("""SELECT ?k WHERE { ?a fkg:containsKeyStep ?k } GROUP BY ?k
                                HAVING (COUNT(DISTINCT ?a) > 1)""")
    shared_errors = kg.select("""SELECT ?e WHERE { ?r fkg:errorType ?e ; fkg:action ?a } GROUP BY ?e
                                 HAVING (COUNT(DISTINCT ?a) > 1)""")
    assert shared_steps and len(shared_errors) >= 10


def test_every_error_has_a_cue_and_explanation_in_english_and_chinese(kg: KnowledgeGraph) -> None:
    missing = kg.select("""SELECT ?e ?lang WHERE {
        ?e a fkg:ErrorType . VALUES ?lang { "en" "zh" } VALUES ?p { fkg:cue fkg:explanation }
        FILTER NOT EXISTS { ?e fkg:feedback ?fb . ?fb ?p ?t . FILTER (LANG(?t) = ?lang && STRLEN(?t) > 3) } }""")
    assert missing == []


def test_every_rule_weight_lies_inside_its_severity_class_range(kg: KnowledgeGraph) -> None:
    outside = kg.select("""SELECT ?r WHERE { ?r fkg:weight ?w ; fkg:errorType/fkg:severityClass ?c .
        ?c fkg:minWeight ?lo ; fkg:maxWeight ?hi . FILTER (?w < ?lo || ?w > ?hi) }""")
    assert outside == []
    assert count(kg, "PenaltyRule") >= 63


def test_every_severity_class_is_used_with_the_published_ranges(kg: KnowledgeGraph) -> None:
    rows = kg.select("""SELECT ?c ?lo ?hi (COUNT(?e) AS ?n) WHERE { ?c fkg:minWeight ?lo ; fkg:maxWeight ?hi .
        ?e fkg:severityClass ?c } GROUP BY ?c ?lo ?hi""")
    assert {r["c"]: (r["lo"], r["hi"]) for r in rows} == {
        "JointSafety": (9, 10), "CoreStability": (7, 9), "FoundationalPosture": (6, 7),
        "FineControl": (5, 5), "Breathing": (2, 2),
    }


def test_every_action_has_a_positive_maximum_penalty(kg: KnowledgeGraph) -> None:
    rows = kg.run_named("max_penalty_per_action")
    assert len(rows) == 20
    assert all(r["wMax"] > 0 for r in rows)
    assert {r["action"]: r["wMax"] for r in rows} == {a: kg.w_max(a) for a in kg.actions}


@pytest.mark.parametrize("action", [f"A{i:02d}" for i in range(1, 21)])
def test_each_action_runs_through_preparation_and_both_moving_phases(kg: KnowledgeGraph, action: str) -> None:
    phases = [s.phase for s in kg.key_steps_of(action)]
    assert phases == sorted(phases, key=kg.phases_of(action).index)
    assert set(phases) == {"Preparation", "Eccentric", "Concentric"}
    assert kg.action(action).emg_channels, "every action names the sEMG channels that watch it"
