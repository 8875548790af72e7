"""The graph-conditioned scorer: each rule's FKG embedding queries the fused time features of a repetition.

.. math::
    F_t = \\frac{\\sum_m p_m E_m(x_m)_t}{\\max(1, \\sum_m p_m)} + P_t, \\qquad
    q_r = W_q g_r, \\qquad a_r = \\mathrm{MHA}(q_r, F, F), \\qquad
    \\Pr(\\text{error of } r) = \\sigma\\big(\\mathrm{MLP}([a_r, q_r])\\big)

with :math:`E_m` the clip encoders, :math:`p_m \\in \\{0, 1\\}` whether modality :math:`m` is present,
:math:`P` a learned position embedding and :math:`g_r` the rule's embedding from
:class:`~models.graph_encoder.FKGEncoder`. There is no output layer per rule: a rule added in Turtle is
scored by the same weights. The attention weights over time give each rule's time span.

The score is the engine's penalty formula (:func:`engine.scoring.penalty`) applied to the probabilities,
so it is differentiable and model and rules share one score: ``S = 100 (1 - penalty / W_max)``.

Shapes: batch fields as :func:`models.inputs.stack` (B first) -> logits ``(B, R)``, attention ``(B, R, T)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from engine.scoring import Observation, penalty
from models.emg_encoder import EMGEncoder
from models.graph_encoder import FKGEncoder
from models.inputs import MODALITIES, STEPS
from models.skeleton_encoder import SkeletonEncoder


@dataclass(frozen=True)
class ScorerConfig:
    """Sizes of the model; saved in every checkpoint so it can be rebuilt."""

    hidden: int = 64
    graph_layers: int = 2
    skeleton_layers: int = 2
    heads: int = 4
    use_graph: bool = True
    """False: the rule queries come from the rule's label text alone (graph conditioning off, an ablation)."""

    def to_dict(self) -> dict:
        return asdict(self)


class FKGScorer(nn.Module):
    """Args: config: sizes; metadata: node and edge types of the FKG graph; in_channels: graph feature size."""

    def __init__(self, config: ScorerConfig, metadata: tuple[list[str], list[tuple[str, str, str]]],
                 in_channels: int) -> None:
        super().__init__()
        h = config.hidden
        self.config = config
        self.graph = FKGEncoder(metadata, in_channels, h, config.graph_layers)
        self.skeleton = SkeletonEncoder(3, h, config.skeleton_layers)
        self.emg = EMGEncoder(h, h)
        self.position = nn.Parameter(torch.empty(STEPS, h))
        self.query = nn.Linear(h, h)
        self.attention = nn.MultiheadAttention(h, config.heads, batch_first=True)
        self.head = nn.Sequential(nn.Linear(2 * h, h), nn.ReLU(), nn.Linear(h, 1))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.graph.reset_parameters()
        self.skeleton.reset_parameters()
        self.emg.reset_parameters()
        nn.init.normal_(self.position, std=0.02)
        self.query.reset_parameters()
        self.attention._reset_parameters()
        for module in self.head:
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def node_embeddings(self, graph: HeteroData) -> dict[str, Tensor]:
        """Embeddings of every FKG node (computed once per graph version at inference)."""
        if not self.config.use_graph:  # text and degree only: no message passing
            return {t: self.graph.inputs[t](x) for t, x in graph.x_dict.items()}
        return self.graph(graph.x_dict, graph.edge_index_dict)

    def forward(self, batch: dict[str, Tensor], graph: HeteroData | None = None,
                nodes: dict[str, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """Logits (B, R) and attention (B, R, T) of every rule of the graph: give the ``graph`` (training, so the
        encoder learns) or its cached ``nodes`` embeddings (inference)."""
        if nodes is None:
            nodes = self.node_embeddings(graph)
        present = batch["present"].to(self.position.dtype)
        features = [self.skeleton(batch["skeleton"]),
                    self.emg(batch["envelope"], batch["muscle"], batch["side"], batch["channel_mask"], nodes["muscle"])]
        fused = sum(f * present[:, i, None, None] for i, f in enumerate(features))
        fused = fused / present.sum(1).clamp(min=1)[:, None, None] + self.position
        query = self.query(nodes["rule"]).expand(fused.shape[0], -1, -1)
        attended, weights = self.attention(query, fused, fused, need_weights=True)
        return self.head(torch.cat([attended, query], dim=-1)).squeeze(-1), weights

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(hidden={self.config.hidden}, modalities={list(MODALITIES)}, "
                f"graph={self.graph!r}, skeleton={self.skeleton!r}, emg={self.emg!r}, heads={self.config.heads}, "
                f"use_graph={self.config.use_graph})")


def expected_score(probability: Tensor, weight: Tensor, mask: Tensor) -> Tensor:
    """``S = 100 (1 - penalty / W_max)`` per repetition, differentiable: probability (B, R), weight (R,),
    mask (B, R) the rules of each repetition's action (W_max is their weight sum)."""
    observations = [Observation(weight=weight[r] * mask[:, r], probability=probability[:, r])
                    for r in range(probability.shape[1])]
    w_max = (weight * mask).sum(1).clamp(min=1e-6)
    return 100.0 * (1.0 - penalty(observations) / w_max)
