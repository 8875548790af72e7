"""The no-graph baseline, the FLEX code's approach: per-modality clip features, pooled over time, concatenated
with the repetition's log duration, and regressed to the score by an MLP. No rule queries, no knowledge graph:
it predicts a score and no errors.

.. math::
    z = \\operatorname{concat}\\big(\\{p_m [\\operatorname{mean}_t E_m(x_m)_t, \\max_t E_m(x_m)_t]\\}_m,
        W_d \\log d\\big), \\qquad
    \\hat S = 100\\, \\sigma(\\mathrm{MLP}(z))

The clip encoders are the scorer's own, of every modality but the opt-in ones
(:data:`models.modalities.REGISTRY`), so the comparison isolates the graph conditioning; the sEMG encoder is
told a channel's muscle by a learned embedding per muscle instead of the muscle's FKG embedding.

Shapes: batch fields as :func:`models.modalities.stack` -> scores ``(B,)`` in [0, 100].
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from flexaqa.models.modalities import chosen
from flexaqa.models.scorer import ScorerConfig, tempo


class PooledRegressor(nn.Module):
    """Args: muscles: rows of the FKG ``muscle`` table (channel ids); hidden: feature size per modality."""

    def __init__(self, muscles: int, hidden: int = 64) -> None:
        super().__init__()
        self.read = chosen()
        for m in self.read:
            setattr(self, m.name, m.encoder(ScorerConfig(hidden=hidden)))
        self.muscles = nn.Parameter(torch.empty(muscles, hidden))
        self.tempo = nn.Linear(1, hidden)
        self.head = nn.Sequential(nn.Linear((2 * len(self.read) + 1) * hidden, hidden), nn.ReLU(),
                                  nn.Linear(hidden, 1))
        nn.init.normal_(self.muscles, std=0.02)

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        present = batch["present"].to(self.muscles.dtype)
        features = [m.encode(getattr(self, m.name), batch, self.muscles) for m in self.read]
        pooled = [torch.cat([f.mean(1), f.amax(1)], dim=-1) * present[:, i, None] for i, f in enumerate(features)]
        pooled.append(tempo(self.tempo, batch)[:, 0])
        return 100.0 * torch.sigmoid(self.head(torch.cat(pooled, dim=-1)).squeeze(-1))
