"""Camera views of 3D training skeletons: what a phone beside the lifter records, so a model trained on 3D
sets also speaks for 2D keypoints.

A view turns the body about the vertical axis by an azimuth and keeps the picture plane (x right, y up; depth
zero, as :func:`models.inputs.repetition_inputs` stores a 2D skeleton), rescaled by the view's own median
torso length as a 2D recording is. Its keypoint layout is drawn among the 2D camera layouts of
:mod:`clips.layouts`, and the internal joints that layout does not give (COCO-17 has no hands or toe tips)
are zeroed, as a recording's untracked joints are.

Azimuths: :data:`SIDE_SHARE` of the views look from the side (facing either way, within
:data:`SIDE_SPREAD`), the rest from anywhere around. Form checks are filmed from the side, where the sagittal
angles show (the engine's 2D rules assume it); a phone is rarely placed exactly square, hence the spread.
"""

from __future__ import annotations

import math
from functools import cache

import torch
from torch import Tensor

from flexaqa.clips.layouts import DERIVED, JOINT_INDEX, JOINTS, LAYOUTS, get_layout

SIDE_SHARE = 0.75
"""Share of side views: a design choice, not a measured one (no data here says where users put their phones)."""
SIDE_SPREAD = math.radians(30)
"""Largest turn of a side view away from square to the sagittal plane: a design choice, a phone set down by hand
and not lined up."""
MIN_TORSO = 0.1
"""Shortest projected torso (in 3D torso lengths) a view is rescaled by: seen end-on, as a bent-over row from the
front, the torso nearly vanishes, and dividing by it would blow the figure up."""
_PELVIS, _THORAX = JOINT_INDEX["pelvis"], JOINT_INDEX["thorax"]


@cache
def untracked_joints() -> Tensor:
    """(L, J) bool: per camera layout (one that gives 2D keypoints), the internal joints it does not give."""
    derived = {name for name, _ in DERIVED}
    rows = []
    for name in sorted(LAYOUTS):
        layout = get_layout(name)
        if 2 in layout.dims:
            rows.append([j not in layout.to_internal and j not in derived for j in JOINTS])
    return torch.tensor(rows, dtype=torch.bool)


def random_azimuths(count: int, generator: torch.Generator) -> Tensor:
    """(count,) radians, 0 looking at the body's left side (forward is +x in the picture); see the module."""
    side = torch.rand(count, generator=generator) < SIDE_SHARE
    facing = torch.randint(0, 2, (count,), generator=generator) * math.pi
    spread = (2 * torch.rand(count, generator=generator) - 1) * SIDE_SPREAD
    anywhere = 2 * math.pi * torch.rand(count, generator=generator)
    return torch.where(side, facing + spread, anywhere)


def film(batch: dict[str, Tensor], share: float, generator: torch.Generator) -> dict[str, Tensor]:
    """``batch`` with ``share`` of its rows that hold a 3D skeleton seen as a phone films them: a camera view of
    the skeleton (:func:`camera_views`), and the skeleton the only modality present (a phone records no sEMG).
    Rows already in 2D, or without a skeleton, stay as they are."""
    skeleton, present = batch["skeleton"], batch["present"]
    has_depth = skeleton[..., 2].flatten(1).abs().amax(dim=1) > 0
    chosen = (torch.rand(len(skeleton), generator=generator) < share).to(skeleton.device) & has_depth & present[:, 0]
    views = camera_views(skeleton, generator)
    only_skeleton = present.clone()
    only_skeleton[:, 1:] = False
    return {**batch, "skeleton": torch.where(chosen[:, None, None, None], views, skeleton),
            "present": torch.where(chosen[:, None], only_skeleton, present)}


def camera_views(skeleton: Tensor, generator: torch.Generator) -> Tensor:
    """2D views of (B, T, J, 3) 3D skeletons (pelvis of the first step at the origin, in torso lengths; y up,
    x forward, z to the body's side), one random view and layout per row; same shape, depth zero."""
    azimuth = random_azimuths(len(skeleton), generator).to(skeleton.device, skeleton.dtype)
    across = (torch.cos(azimuth)[:, None, None] * skeleton[..., 0]
              + torch.sin(azimuth)[:, None, None] * skeleton[..., 2])
    view = torch.stack([across, skeleton[..., 1], torch.zeros_like(across)], dim=-1)
    torso = (view[:, :, _THORAX] - view[:, :, _PELVIS]).norm(dim=-1).median(dim=1).values
    view = view / torso.clamp(min=MIN_TORSO)[:, None, None, None]
    masks = untracked_joints()
    layout = torch.randint(0, len(masks), (len(skeleton),), generator=generator)
    return view.masked_fill(masks[layout].to(view.device)[:, None, :, None], 0.0)
