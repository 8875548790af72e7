"""Skeleton encoder: two streams over the 21 internal joints, summed per time step.

Joints: spatio-temporal graph convolution (ST-GCN with a learned, adaptive adjacency as in 2s-AGCN, so no
bone list is hard-wired into the convolution: the joints learn whom to listen to).

.. math::
    X^{(l+1)} = \\mathrm{ReLU}\\Big(\\mathrm{BN}\\big(\\mathrm{TConv}_k
        (\\mathrm{softmax}(A_l)\\, X^{(l)} W_l)\\big) + X^{(l)}\\Big), \\qquad
    J_t = W_o \\operatorname{concat}_j X^{(L)}_{t, j}

Bones (the second stream of 2s-AGCN, read as the Turtle detectors read the body): each stick-figure bone's
unit direction :math:`u_b` (its inclination), the cosine between every two bones (the joint angles and
segment alignments the rules threshold) and each joint's velocity, through one layer and a temporal conv.

.. math::
    G_t = \\mathrm{ReLU}\\big(W_g [u_{b,t};\\ u_{b,t} \\cdot u_{b',t};\\ \\dot x_{j,t}]\\big), \\qquad
    H_t = J_t + G_t + \\mathrm{ReLU}(\\mathrm{TConv}_k G)_t

Angles are products of coordinates, which a few ReLU layers over positions approximate poorly: without the
bone stream the scorer fit even its own training repetitions badly (F1 0.64 on them, 150 reps per action).
Per-joint channels are few (``joint_channels``) and the joints are concatenated only at the end, which
keeps one repetition well under a millisecond of arithmetic.

Shapes: positions ``(B, T, J, C)`` (C = 3, or 2 with a zero third coordinate) -> ``(B, T, hidden)``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from flexaqa.clips.layouts import BONES, JOINT_INDEX, JOINTS


class SkeletonEncoder(nn.Module):
    """Args: in_channels: coordinates per joint; hidden: output size; joint_channels: features per joint;
    layers: ST blocks; kernel: temporal kernel (odd); joints: joints per frame."""

    bone_ends: Tensor
    """(bones, 2) joint rows of each bone's two ends (a buffer)."""
    bone_pairs: Tensor
    """(2, pairs) bone rows of every two bones whose cosine is read (a buffer)."""

    def __init__(self, in_channels: int = 3, hidden: int = 64, joint_channels: int = 16, layers: int = 2,
                 kernel: int = 5, joints: int = len(JOINTS)) -> None:
        super().__init__()
        self.in_channels, self.hidden, self.joints, self.kernel = in_channels, hidden, joints, kernel
        self.joint_channels = joint_channels
        self.embed = nn.Linear(in_channels, joint_channels)
        self.adjacency = nn.Parameter(torch.empty(layers, joints, joints))
        self.spatial = nn.ModuleList(nn.Linear(joint_channels, joint_channels) for _ in range(layers))
        self.temporal = nn.ModuleList(nn.Conv1d(joint_channels, joint_channels, kernel, padding=kernel // 2)
                                      for _ in range(layers))
        self.norms = nn.ModuleList(nn.BatchNorm1d(joint_channels) for _ in range(layers))
        self.out = nn.Linear(joints * joint_channels, hidden)
        self.register_buffer("bone_ends", torch.tensor([[JOINT_INDEX[a], JOINT_INDEX[b]] for a, b in BONES]),
                             persistent=False)
        pairs = torch.triu_indices(len(BONES), len(BONES), 1)
        self.register_buffer("bone_pairs", pairs, persistent=False)
        geometry = 3 * len(BONES) + pairs.shape[1] + joints * in_channels
        self.geometry = nn.Linear(geometry, hidden)
        self.geometry_temporal = nn.Conv1d(hidden, hidden, kernel, padding=kernel // 2)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.embed.reset_parameters()
        with torch.no_grad():  # start near "each joint listens to itself"
            self.adjacency.copy_(torch.eye(self.joints).expand_as(self.adjacency) * 4.0)
        for module in (*self.spatial, *self.temporal, *self.norms, self.out, self.geometry, self.geometry_temporal):
            module.reset_parameters()

    def forward(self, positions: Tensor) -> Tensor:
        b, t, j, _ = positions.shape
        c = self.joint_channels
        x = self.embed(positions)  # (B, T, J, C)
        for adj, spatial, temporal, norm in zip(self.adjacency, self.spatial, self.temporal, self.norms, strict=True):
            y = spatial(torch.matmul(adj.softmax(-1), x))
            y = y.permute(0, 2, 3, 1).reshape(b * j, c, t)  # time last for the temporal conv
            y = norm(temporal(y)).reshape(b, j, c, t).permute(0, 3, 1, 2)
            x = torch.relu(y + x)
        return self.out(x.reshape(b, t, j * c)) + self._bones(positions)

    def _bones(self, positions: Tensor) -> Tensor:
        """(B, T, hidden) from the body as the rules read it: each bone's direction, the cosine between every two
        bones (joint angles and segment alignments), and each joint's velocity."""
        b, t, _, _ = positions.shape
        bone = positions[:, :, self.bone_ends[:, 1]] - positions[:, :, self.bone_ends[:, 0]]
        unit = bone / bone.norm(dim=-1, keepdim=True).clamp(min=1e-6)
        cosines = (unit[:, :, self.bone_pairs[0]] * unit[:, :, self.bone_pairs[1]]).sum(-1)
        velocity = torch.diff(positions, dim=1, prepend=positions[:, :1])
        g = torch.relu(self.geometry(torch.cat([unit.reshape(b, t, -1), cosines, velocity.reshape(b, t, -1)], -1)))
        return g + torch.relu(self.geometry_temporal(g.transpose(1, 2))).transpose(1, 2)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, {self.hidden}, joints={self.joints}, "
                f"joint_channels={self.joint_channels}, layers={len(self.spatial)}, kernel={self.kernel})")
