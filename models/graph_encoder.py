"""FKG encoder: a heterogeneous GraphSAGE over the whole knowledge graph (full batch), one embedding per node.

Node features (:func:`graph_inputs`, cached per exported graph): the hashed text embedding of the node's
English label (:mod:`models.text`; a rule reads "<error label> during <key step label> of <action label>"),
``log(1 + degree)`` and, for rules, ``weight / 10``. Edges are the relations of
``kg.export.to_heterodata`` plus their reverses, so information flows both ways.

.. math::
    h_v^{(0)} = W_{t(v)} x_v \\qquad
    h_v^{(l+1)} = \\mathrm{LayerNorm}\\Big(h_v^{(l)} + \\mathrm{ReLU}\\big(\\sum_{r} W^{(l)}_{r,1} h_v^{(l)}
        + W^{(l)}_{r,2} \\operatorname{mean}_{u \\in N_r(v)} h_u^{(l)}\\big)\\Big)

Shapes: ``x_dict[type]`` (N_type, F) -> ``{type: (N_type, hidden)}``. A rule added in Turtle is a new row
of the ``rule`` table: it gets an embedding (and so a query for the scorer) with no new parameters.
"""

from __future__ import annotations

import re

import torch
from torch import Tensor, nn
from torch_geometric.data import HeteroData
from torch_geometric.nn import HeteroConv, SAGEConv
from torch_geometric.transforms import ToUndirected

from flexaqa.kg import KnowledgeGraph
from flexaqa.kg.entities import Action, ErrorType, KeyStep
from flexaqa.kg.export import digest, to_heterodata
from flexaqa.kg.per_graph import PerGraph
from flexaqa.models import text

_INPUTS: PerGraph[tuple[str, int], HeteroData] = PerGraph()


def graph_inputs(kg: KnowledgeGraph, dim: int = text.DIM) -> HeteroData:
    """The graph as PyG ``HeteroData`` with ``x`` on every node type (F = dim + 2), cached per exported graph
    (:func:`kg.export.digest`: what these inputs are made of) for the last few graphs (:mod:`kg.per_graph`)."""
    return _INPUTS.get((digest(kg), dim), lambda: _inputs(kg, dim))


def _inputs(kg: KnowledgeGraph, dim: int) -> HeteroData:
    data = ToUndirected()(to_heterodata(kg))
    words = _node_texts(kg)
    degree = {t: torch.zeros(data[t].num_nodes) for t in data.node_types}
    for (src, _, _), index in data.edge_index_dict.items():
        degree[src].index_add_(0, index[0], torch.ones(index.shape[1]))
    for kind in data.node_types:
        emb = torch.from_numpy(text.embed([words.get(n, _split_camel(n)) for n in data[kind].node_ids], dim))
        extra = data[kind].weight / 10.0 if kind == "rule" else torch.zeros(data[kind].num_nodes)
        data[kind].x = torch.cat([emb, torch.log1p(degree[kind])[:, None], extra[:, None]], dim=1)
    return data


def _node_texts(kg: KnowledgeGraph) -> dict[str, str]:
    def en(node: Action | KeyStep | ErrorType) -> str:
        return node.label.get("en", node.id)

    nodes: list[Action | KeyStep | ErrorType] = [*kg.actions.values(), *kg.key_steps.values(),
                                                 *kg.error_types.values()]
    texts = {n.id: en(n) for n in nodes}
    for rule in kg.rules.values():
        texts[rule.id] = f"{texts[rule.error_type]} during {texts[rule.key_step]} of {texts[rule.action]}"
    return texts


def _split_camel(name: str) -> str:
    """``GluteusMaximus`` -> ``gluteus maximus``: the readable words in an id without a label."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower()


class FKGEncoder(nn.Module):
    """Heterogeneous GraphSAGE encoder of the FKG (see the module docstring for the formula).

    Args:
        metadata: ``data.metadata()`` of :func:`graph_inputs` (node types, edge types).
        in_channels: input feature size F.
        hidden: embedding size.
        layers: message-passing rounds.
    """

    def __init__(self, metadata: tuple[list[str], list[tuple[str, str, str]]], in_channels: int,
                 hidden: int = 64, layers: int = 2) -> None:
        super().__init__()
        self.node_types, self.edge_types = metadata
        self.in_channels, self.hidden = in_channels, hidden
        self.inputs = nn.ModuleDict({t: nn.Linear(in_channels, hidden) for t in self.node_types})
        self.convs = nn.ModuleList(
            HeteroConv({et: SAGEConv(hidden, hidden) for et in self.edge_types}, aggr="sum") for _ in range(layers))
        self.norms = nn.ModuleList(
            nn.ModuleDict({t: nn.LayerNorm(hidden) for t in self.node_types}) for _ in range(layers))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for lin in self.inputs.values():
            lin.reset_parameters()
        for conv in self.convs:
            conv.reset_parameters()
        for norms in self.norms:
            for norm in norms.values():
                norm.reset_parameters()

    def forward(self, x_dict: dict[str, Tensor], edge_index_dict: dict[tuple[str, str, str], Tensor]
                ) -> dict[str, Tensor]:
        h = {t: self.inputs[t](x) for t, x in x_dict.items()}
        for conv, norms in zip(self.convs, self.norms, strict=True):
            out = conv(h, edge_index_dict)
            h = {t: norms[t](h[t] + torch.relu(out[t])) if t in out else h[t] for t in h}
        return h

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, {self.hidden}, layers={len(self.convs)}, "
                f"node_types={len(self.node_types)}, edge_types={len(self.edge_types)})")


