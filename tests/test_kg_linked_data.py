"""The FKG as linked data others can reuse: metadata, QUDT units, poses and joint lists as RDF, and detector
values the engine does not implement rejected at load."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import edit, rejected

from flexaqa.kg import Comparator, KnowledgeGraph, SideSelection, Statistic, queries

SQUAT = "actions/A16_barbell_back_squat.ttl"
UNIT = "http://qudt.org/vocab/unit/"



def test_the_ontology_names_its_version_licence_and_preferred_prefix(kg: KnowledgeGraph) -> None:
    (row,) = list(kg.query("""SELECT ?version ?info ?licence ?creator ?prefix ?ns ?modified WHERE {
        fkg: a owl:Ontology ; owl:versionIRI ?version ; owl:versionInfo ?info ; dcterms:license ?licence ;
             dcterms:creator ?creator ; dcterms:modified ?modified ;
             <http://purl.org/vocab/vann/preferredNamespacePrefix> ?prefix ;
             <http://purl.org/vocab/vann/preferredNamespaceUri> ?ns }"""))
    assert row["version"] == ox.NamedNode("https://w3id.org/flexaqa/fkg/1.2.0")
    assert row["info"].value == "1.2.0" and row["version"].value.endswith(row["info"].value)
    assert row["licence"] == ox.NamedNode("http://www.apache.org/licenses/LICENSE-2.0")
    assert row["creator"].value == "flexaqa contributors"
    assert (row["prefix"].value, row["ns"].value) == ("fkg", "https://w3id.org/flexaqa/fkg#")
    assert row["modified"].datatype == ox.NamedNode("http://www.w3.org/2001/XMLSchema#date")
    assert kg.query('ASK { fkg: dcterms:title ?t ; dcterms:description ?d FILTER (LANG(?t) = "en") }')


def test_every_feature_has_one_qudt_unit_iri_and_no_unit_strings_remain(kg: KnowledgeGraph) -> None:
    units = {row["f"].value.rsplit("#", 1)[1]: row["u"]
             for row in kg.query("SELECT ?f ?u WHERE { ?f a fkg:Feature ; qudt:unit ?u }")}
    assert len(units) == len(kg.select("SELECT ?f WHERE { ?f a fkg:Feature }"))
    assert all(isinstance(u, ox.NamedNode) for u in units.values())
    assert units["JointAngle"] == ox.NamedNode(UNIT + "DEG")
    assert units["Duration"] == ox.NamedNode(UNIT + "SEC")
    assert units["WidthRatio"] == units["EMGBalance"] == ox.NamedNode(UNIT + "UNITLESS")
    assert kg.query("ASK { fkg:VerticalOffset qudt:unit fkg:TorsoLength . fkg:TorsoLength a qudt:Unit }")
    assert not kg.query("ASK { ?s fkg:unit ?o }")
    rows = kg.run_named("feature_units", feature="JointAngle")
    assert rows == [{"feature": "JointAngle", "label": "joint angle", "unit": UNIT + "DEG", "unitLabel": "degree",
                     "jointCount": 3}]


def test_poses_come_back_as_numbers_per_degree_of_freedom(kg: KnowledgeGraph) -> None:
    rows = kg.run_named("action_poses", action="A16")
    start = {r["name"]: r["value"] for r in rows if r["pose"] == "startPose"}
    turn = {r["name"]: r["value"] for r in rows if r["pose"] == "turnPose"}
    assert start == kg.action("A16").start_pose and turn == kg.action("A16").turn_pose
    assert all(isinstance(r["value"], int | float) for r in rows)
    assert {r["dof"] for r in rows} == {f"DOF_{name}" for name in (*start, *turn)}
    raw = kg.query(queries.text("action_poses"), action="A16")
    kinds = {row["value"].datatype.value.rsplit("#", 1)[1] for row in raw}
    assert kinds <= {"integer", "decimal"}


def test_sided_degrees_of_freedom_keep_their_names(kg: KnowledgeGraph) -> None:
    lunge = kg.action("A08").turn_pose
    assert lunge["l_thigh"] == 85 and lunge["r_shank"] == 85


def test_a_detectors_joints_keep_their_list_order(kg: KnowledgeGraph) -> None:
    assert kg.rules["A16_AK47_ET032"].detector.joints == ("knee", "ankle")
    assert kg.rules["A07_AK19_ET025"].detector.joints == ("right_hip", "right_shoulder", "right_elbow")
    first = kg.select("SELECT ?j WHERE { fkg:A16_AK47_ET032 fkg:detector/fkg:joints/rdf:first ?j }")
    assert first == [{"j": "Knee"}]
    assert kg.rules["A16_AK47_ET055"].detector.joints == (), "an sEMG feature lists no joints"


def test_the_engine_enumerations_are_exactly_the_individuals_in_turtle(kg: KnowledgeGraph) -> None:
    for kind in (Statistic, Comparator, SideSelection):
        declared = {r["x"] for r in kg.select(f"SELECT ?x WHERE {{ ?x a fkg:{kind.__name__} }}")}
        assert declared == {member.value for member in kind}


@pytest.mark.parametrize(("rule", "old", "new", "declared", "path"), [
    ("A16_AK47_ET032", "fkg:comparator fkg:LessThan ; fkg:threshold 0.7",
     "fkg:comparator fkg:AtMost ; fkg:threshold 0.7",
     'fkg:AtMost a fkg:Comparator ; rdfs:label "at most"@en .', "comparator"),
    ("A16_AK46_ET054", "fkg:statistic fkg:Minimum", "fkg:statistic fkg:Median",
     'fkg:Median a fkg:Statistic ; rdfs:label "median"@en .', "statistic"),
])
def test_a_declared_but_unimplemented_detector_value_is_rejected_at_load_with_its_line(
    kg: KnowledgeGraph, ontology_copy: Path, rule: str, old: str, new: str, declared: str, path: str,
) -> None:
    edit(ontology_copy, SQUAT, old, new, append=f"\n{declared}\n")
    (violation,) = rejected(ontology_copy)
    assert (violation.file, violation.line) == (SQUAT, kg.rules[rule].source.line)
    assert violation.focus == f"{rule}/detector" and violation.path == path
    assert new.split()[1] in violation.message and "not implemented" in violation.message


def test_a_joint_list_of_the_wrong_length_is_rejected_by_shacl(kg: KnowledgeGraph, ontology_copy: Path) -> None:
    edit(ontology_copy, SQUAT, "fkg:joints ( fkg:Hip fkg:Knee )", "fkg:joints ( fkg:Hip fkg:Knee fkg:Ankle )")
    (violation,) = rejected(ontology_copy)
    assert (violation.file, violation.line) == (SQUAT, kg.rules["A16_AK46_ET054"].source.line)
    assert violation.path == "joints" and "takes 2 joint(s)" in violation.message and "not 3" in violation.message


@pytest.mark.parametrize(("old", "new", "message"), [
    ("fkg:joints ( fkg:Hip fkg:Knee )", "fkg:joints ( fkg:Hip fkg:Kneecap )", "lists fkg:Kneecap, which"),
    ("fkg:joints ( fkg:Hip fkg:Knee )", "fkg:joints fkg:Hip", "must be an RDF list"),
    ("fkg:DOF_shank ; fkg:value 30 ]",
     "fkg:DOF_shank ; fkg:value 30 ] , [ fkg:degreeOfFreedom fkg:DOF_shank ; fkg:value 31 ]",
     "sets fkg:DOF_shank more than once"),
    ("fkg:DOF_shank ; fkg:value 30 ]", "fkg:DOF_shin ; fkg:value 30 ]", "not a fkg:DegreeOfFreedom"),
    ("fkg:DOF_shank ; fkg:value 30 ]", 'fkg:DOF_shank ; fkg:value "30" ]', "one numeric fkg:value"),
])
def test_malformed_joints_and_poses_are_rejected_with_the_node_that_holds_them(
    ontology_copy: Path, old: str, new: str, message: str
) -> None:
    edit(ontology_copy, SQUAT, old, new)
    violations = rejected(ontology_copy)
    assert any(message in v.message and v.file == SQUAT and v.line is not None for v in violations), violations


def test_the_new_competency_queries_are_listed() -> None:
    assert {"action_poses", "feature_units"} <= set(queries.names())


@pytest.mark.parametrize("share", ["0", "1.5", '"a third"'])
def test_a_minimum_share_of_the_key_step_outside_0_to_1_is_rejected_with_its_line(ontology_copy: Path, share: str
                                                                                  ) -> None:
    shrug = "actions/A06_dumbbell_shrug.ttl"
    edit(ontology_copy, shrug, "fkg:threshold 30 ; fkg:minDurationShare 0.33 ;",
         f"fkg:threshold 30 ; fkg:minDurationShare {share} ;")
    violations = rejected(ontology_copy)
    assert violations and all(v.file == shrug and v.line and "fkg:minDurationShare" in v.message for v in violations)
