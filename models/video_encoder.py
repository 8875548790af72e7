"""Video encoder: a small (2+1)D CNN per view (shared weights), pooled over space, views fused by a masked mean.

Each block factorises a 3D convolution into a spatial one and a temporal one (k x 1 x 1), with a ReLU
between, as R(2+1)D does (Tran et al., CVPR 2018): one more non-linearity than a 3 x 3 x 3 conv and fewer
multiply-adds. The first spatial conv is a non-overlapping ``stem`` x ``stem`` patch embedding (the
"patchify" stem of ConvNeXt, Liu et al., CVPR 2022), the others 3 x 3 with stride 2: measured here on one
core, the 4 x 4 stem halves the time of an all-3 x 3 stack (12 vs 25 ms for two 64 px views). The per-frame
features of the views that are present are averaged (the same weights for every camera, so views come in
any order), projected and interpolated from the frames onto the ``steps`` time grid of the other encoders.

.. math::
    v_{t} = \\mathrm{mean}_{x, y}\\, \\mathrm{CNN}_{(2+1)D}(I_v)_{t, x, y}, \\qquad
    H = \\mathrm{interp}_{F \\to T}\\Big(W_o \\frac{\\sum_v m_v\\, v}{\\max(1, \\sum_v m_v)}\\Big)

Only the views present are run through the CNN, so a missing view costs nothing and cannot change the
features of the others. Pretrained weights: a user's ``state_dict`` of this same module, from a local file
(``weights=`` or :meth:`VideoEncoder.load_weights`); nothing is ever downloaded.

Shapes: frames ``(B, V, F, H, W)`` uint8 (as :func:`models.frames.stack_frames`), view mask ``(B, V)`` bool
-> ``(B, steps, hidden)``.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from flexaqa.models.inputs import STEPS


class WeightsError(ValueError):
    """A pretrained-weights file that is not a state_dict of this encoder; the message says what differs."""


class VideoEncoder(nn.Module):
    """Args: hidden: output size; channels: feature maps of each (2+1)D block (the first divides height and
    width by ``stem``, each later one halves them); kernel: temporal kernel (odd); stem: patch size of the
    first block; steps: output time steps; weights: optional path of a ``state_dict`` of an encoder built
    with the same arguments."""

    def __init__(self, hidden: int = 64, channels: tuple[int, ...] = (32, 64, 64), kernel: int = 3, stem: int = 4,
                 steps: int = STEPS, weights: str | Path | None = None) -> None:
        super().__init__()
        self.hidden, self.channels, self.kernel, self.stem, self.steps = hidden, tuple(channels), kernel, stem, steps
        blocks: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip((1, *channels[:-1]), channels, strict=True)):
            spatial = (nn.Conv3d(c_in, c_out, (1, stem, stem), stride=(1, stem, stem), bias=False) if i == 0 else
                       nn.Conv3d(c_in, c_out, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), bias=False))
            blocks += [spatial, nn.BatchNorm3d(c_out), nn.ReLU(),
                       nn.Conv3d(c_out, c_out, (kernel, 1, 1), padding=(kernel // 2, 0, 0), bias=False),
                       nn.BatchNorm3d(c_out), nn.ReLU()]
        self.cnn = nn.Sequential(*blocks)
        self.out = nn.Linear(channels[-1], hidden)
        self.reset_parameters()
        if weights is not None:
            self.load_weights(weights)

    def reset_parameters(self) -> None:
        """Fresh random weights (pretrained ones, if loaded, are dropped)."""
        for module in (*self.cnn, self.out):
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def forward(self, frames: Tensor, view_mask: Tensor) -> Tensor:
        b, v, f, _, _ = frames.shape
        present = view_mask.reshape(-1).nonzero().squeeze(1)
        dtype = self.out.weight.dtype
        pooled = torch.zeros(b * v, self.channels[-1], f, dtype=dtype, device=frames.device)
        if len(present):  # a batch without video (skeleton or sEMG only) skips the CNN
            x = frames.reshape(b * v, 1, f, *frames.shape[3:])[present].to(dtype) / 127.5 - 1.0
            pooled = pooled.index_copy(0, present, self.cnn(x).mean((3, 4)).to(dtype))  # autocast may lower it
        weight = view_mask.to(dtype)[..., None, None]  # (B, V, 1, 1)
        fused = (pooled.reshape(b, v, -1, f) * weight).sum(1) / weight.sum(1).clamp(min=1)  # (B, C, F)
        fused = F.interpolate(fused, size=self.steps, mode="linear", align_corners=True)  # frames on the step grid
        return self.out(fused.transpose(1, 2))

    def load_weights(self, path: str | Path) -> None:
        """Load a user's pretrained ``state_dict`` of this module from a local file; every missing, unexpected or
        wrongly shaped tensor is named in one :class:`WeightsError`, and nothing is loaded then."""
        try:
            state = torch.load(Path(path), map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise WeightsError(f"{path}: no such weights file") from None
        except Exception as exc:  # torch raises many kinds for a damaged or foreign file
            raise WeightsError(f"{path}: not a readable torch file ({exc.__class__.__name__})") from None
        if not isinstance(state, dict) or not all(isinstance(t, Tensor) for t in state.values()):
            raise WeightsError(f"{path}: expected a state_dict (names -> tensors) of {self!r}")
        own = self.state_dict()
        problems = [f"missing {k}" for k in own if k not in state]
        problems += [f"unexpected {k}" for k in state if k not in own]
        problems += [f"{k} has shape {tuple(state[k].shape)}, expected {tuple(t.shape)}"
                     for k, t in own.items() if k in state and state[k].shape != t.shape]
        if problems:
            raise WeightsError(f"{path}: does not fit {self!r}: " + "; ".join(problems))
        self.load_state_dict(state)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(hidden={self.hidden}, channels={self.channels}, kernel={self.kernel}, "
                f"stem={self.stem}, steps={self.steps})")
