"""The graph-conditioned scorer: each rule's FKG embedding queries the fused time features of a repetition.

.. math::
    F_t = \\frac{\\sum_m p_m E_m(x_m)_t}{\\max(1, \\sum_m p_m)} + P_t + W_d \\log d, \\qquad
    q_r = W_q g_r, \\qquad a_r = \\mathrm{MHA}(q_r, F, F), \\qquad
    \\Pr(\\text{error of } r) = \\sigma\\big(\\mathrm{MLP}([a_r, q_r])\\big)

with :math:`E_m` the clip encoders of the scorer's modalities (:data:`models.modalities.REGISTRY`: skeleton,
sEMG and, in a model built with video, the views' :class:`~models.video_encoder.VideoEncoder`),
:math:`p_m \\in \\{0, 1\\}` whether modality :math:`m` is present,
:math:`P` a learned position embedding, :math:`d` the repetition's duration in seconds (resampling to
fixed steps hides it) and :math:`g_r` the rule's embedding from
:class:`~models.graph_encoder.FKGEncoder`. There is no output layer per rule: a rule added in Turtle is
scored by the same weights. The attention weights over time give each rule's time span.

Key steps come out the same way: each key step's embedding :math:`k_s` is a query whose scaled dot product
with the fused features gives the logit of "time step :math:`t` is in key step :math:`s`",
:math:`\\ell_{s,t} = (W_k k_s)^\\top (W_f F_t) / \\sqrt{h}`; the caller keeps the key steps of the action.

The score is the engine's penalty formula (:func:`engine.scoring.penalty`) applied to the probabilities,
so it is differentiable and model and rules share one score: ``S = 100 (1 - penalty / W_max)``.

Shapes: batch fields as :func:`models.modalities.stack` (B first; each modality's arrays)
-> :class:`Output`: logits ``(B, R)``, attention ``(B, R, T)``, key-step logits ``(B, K, T)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, NamedTuple

import torch
from torch import Tensor, nn

from flexaqa.engine.scoring import Observation, penalty
from flexaqa.models.inputs import STEPS
from flexaqa.models.modalities import chosen

if TYPE_CHECKING:
    from torch_geometric.data import HeteroData


@dataclass(frozen=True)
class ScorerConfig:
    """Sizes of the model; saved in every checkpoint so it can be rebuilt."""

    hidden: int = 64
    graph_layers: int = 2
    skeleton_layers: int = 2
    joint_channels: int = 16
    """Features per joint in the skeleton encoder."""
    heads: int = 4
    use_graph: bool = True
    """False: the rule queries come from the rule's label text alone (graph conditioning off, an ablation)."""
    video: bool = False
    """True: a third modality, the repetition's video views (batches carry ``frames`` and ``view_mask``). Off by
    default, so a skeleton + sEMG model builds, loads and reads nothing of video (and older checkpoints, whose
    config lacks the field, load as they were)."""

    @property
    def opted(self) -> tuple[str, ...]:
        """The opt-in modalities (:data:`models.modalities.REGISTRY`) this config turns on."""
        return ("video",) if self.video else ()

    @property
    def modalities(self) -> tuple[str, ...]:
        """Names of the modalities a scorer of this config reads, in the order of its ``present`` columns."""
        return tuple(m.name for m in chosen(self.opted))

    def to_dict(self) -> dict:
        return asdict(self)


class Output(NamedTuple):
    """What :meth:`FKGScorer.forward` returns (see the module docstring for shapes)."""

    logits: Tensor
    attention: Tensor
    steps: Tensor


class ClipScorer(nn.Module):
    """Everything but the graph encoder: clip encoders, rule and key-step queries. It reads the graph only through
    node embeddings, so a checkpoint that stores them for its graph runs without PyTorch Geometric.

    Args: config: sizes."""

    def __init__(self, config: ScorerConfig) -> None:
        super().__init__()
        h = config.hidden
        self.config = config
        self.read = chosen(config.opted)
        self.modalities = config.modalities
        for m in self.read:
            if not m.opt_in:
                setattr(self, m.name, m.encoder(config))
        self.position = nn.Parameter(torch.empty(STEPS, h))
        self.tempo = nn.Linear(1, h)
        self.query = nn.Linear(h, h)
        self.attention = nn.MultiheadAttention(h, config.heads, batch_first=True)
        self.head = nn.Sequential(nn.Linear(2 * h, h), nn.ReLU(), nn.Linear(h, 1))
        self.step_query = nn.Linear(h, h)
        self.step_key = nn.Linear(h, h)
        nn.init.normal_(self.position, std=0.02)
        for m in self.read:  # opt-in ones last, so the other weights start as in a model without them (same seed)
            if m.opt_in:
                setattr(self, m.name, m.encoder(config))

    def forward(self, batch: dict[str, Tensor], nodes: dict[str, Tensor]) -> Output:
        """Rule logits, attention and key-step logits for every rule and key step of the graph whose node
        embeddings ``nodes`` are (``rule``, ``key_step`` and ``muscle`` are read)."""
        present = batch["present"].to(self.position.dtype)
        features = [m.encode(getattr(self, m.name), batch, nodes["muscle"]) for m in self.read]
        fused = sum(f * present[:, i, None, None] for i, f in enumerate(features))
        fused = fused / present.sum(1).clamp(min=1)[:, None, None] + self.position + tempo(self.tempo, batch)
        query = self.query(nodes["rule"]).expand(fused.shape[0], -1, -1)
        attended, weights = self.attention(query, fused, fused, need_weights=True)
        steps = torch.einsum("kh,bth->bkt", self.step_query(nodes["key_step"]), self.step_key(fused))
        return Output(self.head(torch.cat([attended, query], dim=-1)).squeeze(-1), weights,
                      steps / math.sqrt(fused.shape[-1]))

    def __repr__(self) -> str:
        encoders = "".join(f"{m.name}={getattr(self, m.name)!r}, " for m in self.read)
        return (f"{self.__class__.__name__}(hidden={self.config.hidden}, modalities={list(self.modalities)}, "
                f"{encoders}heads={self.config.heads}, use_graph={self.config.use_graph})")


class FKGScorer(ClipScorer):
    """The clip scorer with its graph encoder (training, or a graph the checkpoint holds no embeddings of).

    Args: config: sizes; metadata: node and edge types of the FKG graph; in_channels: graph feature size."""

    NODE_TYPES = ("rule", "key_step", "muscle")
    """The node embeddings :class:`ClipScorer` reads (what a checkpoint stores)."""

    def __init__(self, config: ScorerConfig, metadata: tuple[list[str], list[tuple[str, str, str]]],
                 in_channels: int) -> None:
        super().__init__(config)
        from flexaqa.models.graph_encoder import FKGEncoder  # PyTorch Geometric: only where the graph is encoded

        self.graph = FKGEncoder(metadata, in_channels, config.hidden, config.graph_layers)

    def node_embeddings(self, graph: HeteroData) -> dict[str, Tensor]:
        """Embeddings of every FKG node (computed once per exported graph at inference)."""
        if not self.config.use_graph:  # text and degree only: no message passing
            return {t: self.graph.inputs[t](x) for t, x in graph.x_dict.items()}
        return self.graph(graph.x_dict, graph.edge_index_dict)

    def forward(self, batch: dict[str, Tensor], graph: HeteroData | None = None,
                nodes: dict[str, Tensor] | None = None) -> Output:
        """As :meth:`ClipScorer.forward`; give the ``graph`` (training, so the encoder learns) or its cached
        ``nodes`` embeddings (inference)."""
        return super().forward(batch, self.node_embeddings(graph) if nodes is None else nodes)

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", graph={self.graph!r})"


def tempo(layer: nn.Linear, batch: dict[str, Tensor]) -> Tensor:
    """(B, 1, H): the repetition's log duration (seconds) through ``layer``, added at every time step."""
    return layer(torch.log(batch["duration"].clamp(min=1e-3)))[:, None, :]


def expected_score(probability: Tensor, weight: Tensor, mask: Tensor) -> Tensor:
    """``S = 100 (1 - penalty / W_max)`` per repetition, differentiable: probability (B, R), weight (R,),
    mask (B, R) the rules of each repetition's action (W_max is their weight sum). The engine's
    :func:`~engine.scoring.penalty` is applied to one observation holding every rule's cells at once
    (weights times probabilities, summed per repetition), so the batch costs a few tensor operations."""
    cells = penalty([Observation(weight=weight * mask, probability=probability)])
    w_max = (weight * mask).sum(1).clamp(min=1e-6)
    return 100.0 * (1.0 - cells.sum(1) / w_max)
