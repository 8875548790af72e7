"""sEMG encoder: a temporal convolution over each channel's envelope, the channel placed by its muscle.

Each channel is encoded by the same temporal conv; it is then told which muscle and side it watches by
adding that muscle's FKG embedding (from :class:`~models.graph_encoder.FKGEncoder`) and a side embedding,
and the channels are averaged. So any montage of any action fits, in any channel order.

.. math::
    h_c = \\mathrm{TConv}(e_c) + W_m\\, g_{m(c)} + s_{side(c)}, \\qquad
    H = W_o \\frac{\\sum_c \\mathrm{mask}_c\\, \\mathrm{ReLU}(h_c)}{\\max(1, \\sum_c \\mathrm{mask}_c)}

Shapes: envelope ``(B, T, C)``, muscle ``(B, C)`` (row of the FKG ``muscle`` table), side ``(B, C)``
(0 left, 1 right), mask ``(B, C)`` bool, muscle embeddings ``(N_muscle, G)`` -> ``(B, T, hidden)``.
"""

from __future__ import annotations

from torch import Tensor, nn


class EMGEncoder(nn.Module):
    """Args: graph_channels: size G of the muscle embeddings; hidden: output size; channel_features: features per
    sEMG channel; kernel: temporal kernel."""

    def __init__(self, graph_channels: int, hidden: int = 64, channel_features: int = 32, kernel: int = 5) -> None:
        super().__init__()
        self.graph_channels, self.hidden, self.kernel, self.channel_features = graph_channels, hidden, kernel, \
            channel_features
        e = channel_features
        self.conv = nn.Sequential(nn.Conv1d(1, e, kernel, padding=kernel // 2), nn.ReLU(),
                                  nn.Conv1d(e, e, kernel, padding=kernel // 2))
        self.muscle = nn.Linear(graph_channels, e)
        self.side = nn.Embedding(2, e)
        self.out = nn.Linear(e, hidden)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in (self.conv[0], self.conv[2], self.muscle, self.side, self.out):
            module.reset_parameters()

    def forward(self, envelope: Tensor, muscle: Tensor, side: Tensor, mask: Tensor, muscles: Tensor) -> Tensor:
        b, t, c = envelope.shape
        e = self.channel_features
        h = self.conv(envelope.permute(0, 2, 1).reshape(b * c, 1, t)).reshape(b, c, e, t)
        h = h + (self.muscle(muscles)[muscle] + self.side(side))[..., None]
        weight = mask.to(h.dtype)[..., None, None]
        pooled = (h.relu() * weight).sum(1) / weight.sum(1).clamp(min=1)  # (B, E, T)
        return self.out(pooled.permute(0, 2, 1))

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(graph={self.graph_channels}, {self.hidden}, "
                f"channel_features={self.channel_features}, kernel={self.kernel})")
