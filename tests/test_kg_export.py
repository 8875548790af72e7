"""Graph exports have exactly the nodes and edges the SPARQL counts predict."""

from __future__ import annotations

import networkx as nx

from flexaqa.kg import KnowledgeGraph
from flexaqa.kg.export import node_table, to_heterodata, to_networkx


def sparql_counts(kg: KnowledgeGraph) -> dict[str, int]:
    one = kg.select("""SELECT
        (COUNT(DISTINCT ?a) AS ?actions) WHERE { ?a a fkg:Action }""")[0]
    contains = kg.select("SELECT (COUNT(*) AS ?n) WHERE { ?a fkg:containsKeyStep ?k }")[0]["n"]
    may_occur = kg.select("SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?k ?e WHERE "
                          "{ ?r fkg:keyStep ?k ; fkg:errorType ?e } }")[0]["n"]
    rules = kg.select("SELECT (COUNT(*) AS ?n) WHERE { ?r a fkg:PenaltyRule }")[0]["n"]
    muscles = kg.select("SELECT (COUNT(DISTINCT ?m) AS ?n) WHERE { { ?a fkg:primaryMuscle|fkg:secondaryMuscle ?m }"
                        " UNION { ?c fkg:muscle ?m } }")[0]["n"]
    loads = kg.select("SELECT (COUNT(*) AS ?n) WHERE { ?a fkg:primaryMuscle|fkg:secondaryMuscle ?m }")[0]["n"]
    looks = kg.select("""SELECT (COUNT(DISTINCT ?f) AS ?measures) (COUNT(DISTINCT ?j) AS ?reads)
        (COUNT(DISTINCT ?e) AS ?reads_muscle) (COUNT(DISTINCT ?m) AS ?moves) (COUNT(DISTINCT ?c) AS ?changes) WHERE {
        { ?r fkg:detector/fkg:feature ?x BIND(CONCAT(STR(?r), STR(?x)) AS ?f) }
        UNION { ?r fkg:detector/fkg:joints/rdf:rest*/rdf:first ?x BIND(CONCAT(STR(?r), STR(?x)) AS ?j) }
        UNION { ?r fkg:detector/fkg:emgMuscle ?x BIND(STR(?r) AS ?e) }
        UNION { ?r fkg:faultMotion ?x BIND(STR(?r) AS ?m) }
        UNION { ?r fkg:faultMotion/fkg:changedMuscle ?x BIND(STR(?r) AS ?c) } }""")[0]
    return {"actions": one["actions"], "contains": contains, "may_occur": may_occur, "rules": rules,
            "muscles": muscles, "loads": loads, **{k: int(v) for k, v in looks.items()}}


def test_heterodata_matches_sparql_counts(kg: KnowledgeGraph) -> None:
    counts = sparql_counts(kg)
    data = to_heterodata(kg)
    assert data["action"].num_nodes == counts["actions"] == 20
    assert data["key_step"].num_nodes == 56 and data["error_type"].num_nodes == 63
    assert data["rule"].num_nodes == counts["rules"] and data["muscle"].num_nodes == counts["muscles"]
    assert data["action", "contains", "key_step"].edge_index.shape == (2, counts["contains"])
    assert data["key_step", "may_occur", "error_type"].edge_index.shape == (2, counts["may_occur"])
    assert data["rule", "penalises", "error_type"].edge_index.shape == (2, counts["rules"])
    assert data["key_step", "in_phase", "phase"].edge_index.shape == (2, 56)
    for relation, target in (("measures", "feature"), ("reads", "body_part"), ("reads_muscle", "muscle"),
                             ("moves", "motion"), ("changes_muscle", "muscle")):
        key = "changes" if relation == "changes_muscle" else relation
        assert data["rule", relation, target].edge_index.shape == (2, counts[key]), relation
    data.validate(raise_on_error=True)


def test_networkx_matches_sparql_counts(kg: KnowledgeGraph) -> None:
    counts = sparql_counts(kg)
    graph = to_networkx(kg)
    kinds = nx.get_node_attributes(graph, "kind")
    assert sum(k == "action" for k in kinds.values()) == 20
    assert sum(k == "error_type" for k in kinds.values()) == 63
    relations = [d["relation"] for _, _, d in graph.edges(data=True)]
    assert relations.count("contains") == counts["contains"]
    assert relations.count("may_occur") == counts["may_occur"]
    looks = sum(counts[k] for k in ("measures", "reads", "reads_muscle", "moves", "changes"))
    expected_edges = (counts["contains"] + counts["may_occur"] + 56 + 63 + counts["loads"] + 3 * counts["rules"]
                      + looks)
    assert graph.number_of_edges() == expected_edges
    assert graph.number_of_nodes() == sum(len(ids) for ids in node_table(kg).values()), "node ids are distinct"
    assert graph.nodes["A16"]["label"].lower().endswith("back squat")
