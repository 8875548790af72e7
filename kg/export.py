"""Graph views of the FKG for algorithms and GNNs: a networkx multigraph and a PyG ``HeteroData``.

Node types: action, key_step, error_type, phase, severity_class, muscle, rule, and what a rule looks at:
feature (a detector's measure), body_part (the joints it reads) and motion (the body degree of freedom or the
tempo or sEMG quantity its declared fault motion changes). A penalty rule is a node because it relates three
things (action, key step, error type) and carries the weight. Rules that measure the same feature on the same
body parts, or whose faults move the same degree of freedom, are two hops apart, so what one rule's examples
teach a model reaches rules with few or none of their own.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from typing import TYPE_CHECKING

import networkx as nx

from flexaqa.extras import require
from flexaqa.kg.entities import Action, ErrorType, FaultMotion, KeyStep
from flexaqa.kg.graph import KnowledgeGraph

if TYPE_CHECKING:
    from torch_geometric.data import HeteroData

EdgeList = list[tuple[str, str]]


def node_table(kg: KnowledgeGraph) -> dict[str, list[str]]:
    """Node ids per node type, in a stable order (the row order of ``HeteroData`` features)."""
    detectors = [r.detector for r in kg.rules.values() if r.detector is not None]
    motions = [r.fault_motion for r in kg.rules.values() if r.fault_motion is not None]
    muscles = sorted({m for a in kg.actions.values() for m in (*a.primary_muscles, *a.secondary_muscles)}
                     | {c.muscle for a in kg.actions.values() for c in a.emg_channels})
    return {
        "action": sorted(kg.actions),
        "key_step": sorted(kg.key_steps),
        "error_type": sorted(kg.error_types),
        "phase": sorted({s.phase for s in kg.key_steps.values()}, key=lambda p: _phase_rank(kg, p)),
        "severity_class": sorted({e.severity_class for e in kg.error_types.values()}),
        "muscle": muscles,
        "rule": sorted(kg.rules),
        "feature": sorted({d.feature for d in detectors}),
        "body_part": sorted({j for d in detectors for j in d.joints}),
        "motion": sorted({_motion(m) for m in motions}),
    }


def edge_table(kg: KnowledgeGraph) -> dict[tuple[str, str, str], EdgeList]:
    """Edges per (source type, relation, target type); ``may_occur`` pairs are distinct."""
    actions, rules = kg.actions.values(), kg.rules.values()
    return {
        ("action", "contains", "key_step"): [(a.id, k) for a in actions for k in a.key_steps],
        ("key_step", "may_occur", "error_type"): sorted({(r.key_step, r.error_type) for r in rules}),
        ("key_step", "in_phase", "phase"): [(k.id, k.phase) for k in kg.key_steps.values()],
        ("error_type", "has_severity", "severity_class"): [
            (e.id, e.severity_class) for e in kg.error_types.values()
        ],
        ("action", "primary_muscle", "muscle"): [(a.id, m) for a in actions for m in a.primary_muscles],
        ("action", "secondary_muscle", "muscle"): [(a.id, m) for a in actions for m in a.secondary_muscles],
        ("rule", "of_action", "action"): [(r.id, r.action) for r in rules],
        ("rule", "in_key_step", "key_step"): [(r.id, r.key_step) for r in rules],
        ("rule", "penalises", "error_type"): [(r.id, r.error_type) for r in rules],
        ("rule", "measures", "feature"): [(r.id, r.detector.feature) for r in rules if r.detector],
        ("rule", "reads", "body_part"): sorted({(r.id, j) for r in rules if r.detector for j in r.detector.joints}),
        ("rule", "reads_muscle", "muscle"): [(r.id, r.detector.muscle) for r in rules
                                             if r.detector and r.detector.muscle],
        ("rule", "moves", "motion"): [(r.id, _motion(r.fault_motion)) for r in rules if r.fault_motion],
        ("rule", "changes_muscle", "muscle"): [(r.id, r.fault_motion.muscle) for r in rules
                                               if r.fault_motion and r.fault_motion.muscle],
    }


def _motion(motion: FaultMotion) -> str:
    """A fault motion's node id: its Turtle name (``DOF_<name>`` for a degree of freedom, else the quantity)."""
    if motion.dof:
        return f"DOF_{motion.dof}"
    if motion.quantity is None:
        raise ValueError("a fault motion names a degree of freedom or a quantity")  # SHACL requires one
    return motion.quantity.value


def to_networkx(kg: KnowledgeGraph) -> nx.MultiDiGraph:
    """One node per FKG node (``kind``, English ``label``), one edge per relation (``relation``)."""
    graph: nx.MultiDiGraph[str] = nx.MultiDiGraph(version=kg.version)
    labels = _english_labels(kg)
    for kind, ids in node_table(kg).items():
        for node in ids:
            attrs: dict[str, str | float] = {"kind": kind, "label": labels.get(node, node)}
            if kind == "rule":
                attrs["weight"] = kg.rules[node].weight
            graph.add_node(node, **attrs)
    for (_, relation, _), edges in edge_table(kg).items():
        graph.add_edges_from((s, t, {"relation": relation}) for s, t in edges)
    return graph


def digest(kg: KnowledgeGraph) -> str:
    """12 hex digits of what the exported graph holds (node ids and kinds, English labels, rule weights,
    edges): all a model reads of the FKG. Unlike ``kg.version`` it stays put when only coaching words,
    messages or detector thresholds change, so such an edit does not make a trained model's graph stale.
    Computed once per graph (it is immutable) and forgotten with it."""
    known = _DIGESTS.get(kg)
    if known is None:
        graph = to_networkx(kg)
        content = [sorted([n, sorted(a.items())] for n, a in graph.nodes(data=True)),
                   sorted([s, t, d["relation"]] for s, t, d in graph.edges(data=True))]
        known = _DIGESTS[kg] = hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()[:12]
    return known


_DIGESTS: weakref.WeakKeyDictionary[KnowledgeGraph, str] = weakref.WeakKeyDictionary()


def to_heterodata(kg: KnowledgeGraph) -> HeteroData:
    """A PyG graph with ``node_ids`` per type, rule weights as ``weight``, and no learned features
    (the encoder in ``models`` derives them from ids and label text). torch is imported here, not at
    module load, so the command line and the service start without it."""
    require("model", "a PyG graph of the FKG")
    import torch
    from torch_geometric.data import HeteroData

    data = HeteroData()
    nodes = node_table(kg)
    index = {kind: {n: i for i, n in enumerate(ids)} for kind, ids in nodes.items()}
    for kind, ids in nodes.items():
        data[kind].node_ids = ids
        data[kind].num_nodes = len(ids)
    data["rule"].weight = torch.tensor([kg.rules[r].weight for r in nodes["rule"]], dtype=torch.float32)
    for (src, rel, dst), edges in edge_table(kg).items():
        pairs = [[index[src][s] for s, _ in edges], [index[dst][t] for _, t in edges]]
        data[src, rel, dst].edge_index = torch.tensor(pairs, dtype=torch.long).reshape(2, -1)
    data.version = kg.version
    return data


def _phase_rank(kg: KnowledgeGraph, phase: str) -> int:
    return next(s.phase_order for s in kg.key_steps.values() if s.phase == phase)


def _english_labels(kg: KnowledgeGraph) -> dict[str, str]:
    labelled: list[Action | KeyStep | ErrorType] = [*kg.actions.values(), *kg.key_steps.values(),
                                                    *kg.error_types.values()]
    return {n.id: n.label.get("en", n.id) for n in labelled}
