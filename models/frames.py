"""One repetition's video views as a fixed-size array for :class:`~models.video_encoder.VideoEncoder`.

Each view gives ``FRAMES`` frames at the times ``linspace(start, end, FRAMES)`` (the nearest decoded frame),
the same grid :mod:`models.inputs` puts its ``STEPS`` on, so the encoder's time features line up with the
skeleton's and the sEMG's by linear interpolation. Frames are turned grey and letterboxed (aspect kept,
black bars) to ``SIZE`` x ``SIZE``: stretching a portrait phone video to a square would change the body
angles the model is meant to judge. Views are assumed synchronised with the clip's time zero, as FLEX's are.

Shapes: one repetition ``(MAX_VIEWS, FRAMES, SIZE, SIZE)`` uint8 and a view mask ``(MAX_VIEWS,)`` bool;
:func:`stack_frames` adds a batch axis in front.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from flexaqa.clips.clip import Clip
from flexaqa.clips.video import Video
from flexaqa.models.inputs import Stretch

log = logging.getLogger(__name__)

MAX_VIEWS = 2
"""Views per repetition: the speed bar (DESIGN.md section 8, issue 11) is set for two views, and a side plus
a front or oblique view already see both planes of a lift. Further views of a clip are left out (logged)."""
FRAMES = 16
"""Frames per repetition: the 16-frame clip of C3D (Tran et al., ICCV 2015) and R(2+1)D (Tran et al., CVPR
2018); over a FLEX repetition (about 3.4 s, clips/flex.py) that is one frame per ~0.2 s, four or more per
lifting phase, and half of ``models.inputs.STEPS`` so each frame falls on a time step."""
SIZE = 64
"""Side of the square frame in pixels: the body fills ~85 % of a side view (synth/render.py), so a limb is
still several pixels long, while the CNN's cost (quadratic in SIZE) stays a few ms per view on one core."""
LUMA = torch.tensor([0.299, 0.587, 0.114])
"""ITU-R BT.601 luma weights. Grey, not colour: form is in the body's shape, not its colours (the synthetic
views are grey stick figures), and one channel keeps a batch's frames a third of the size."""


def repetition_frames(source: Clip | Sequence[Video], start_s: float, end_s: float,
                      max_views: int = MAX_VIEWS) -> tuple[np.ndarray, np.ndarray]:
    """Frames and view mask of the stretch ``start_s``..``end_s`` (seconds) of a clip's views (or of the views
    given). A view that does not cover any of the stretch, or is missing, is zeros and masked out."""
    views = source.views if isinstance(source, Clip) else tuple(source)
    if len(views) > max_views:
        log.debug("%d video views; the model reads the first %d", len(views), max_views)
    frames = np.zeros((max_views, FRAMES, SIZE, SIZE), dtype=np.uint8)
    mask = np.zeros(max_views, dtype=bool)
    times = np.linspace(start_s, max(end_s, start_s + 1e-3), FRAMES)
    for slot, video in enumerate(views[:max_views]):
        if times[0] >= video.duration or times[-1] < 0:
            continue
        index = np.clip(np.round(times * video.fps).astype(int), 0, video.frame_count - 1)
        frames[slot] = _grey_letterbox(video.frames[index])
        mask[slot] = True
    return frames, mask


def view_inputs(stretch: Stretch) -> tuple[dict[str, np.ndarray], bool]:
    """``frames`` and ``view_mask`` of a prepared repetition (:func:`repetition_frames` of its clip; none without
    a clip), and whether any view covers it."""
    frames, mask = repetition_frames(() if stretch.clip is None else stretch.clip, stretch.start_s, stretch.end_s)
    return {"frames": frames, "view_mask": mask}, bool(mask.any())


def stack_frames(reps: Sequence[tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """A batch of :func:`repetition_frames` results: ``frames`` (B, V, F, H, W) and ``view_mask`` (B, V)."""
    return {"frames": np.stack([f for f, _ in reps]), "view_mask": np.stack([m for _, m in reps])}


def _grey_letterbox(rgb: np.ndarray) -> np.ndarray:
    """(N, SIZE, SIZE) uint8 grey of (N, H, W, 3) uint8 RGB frames, scaled to fit and centred on black.

    Resizing comes first, on uint8 with antialiasing (torch's fast path for channels-last images): on a
    1080 x 608 phone video it is ~8x quicker than PyAV's area filter, measured here."""
    n, height, width, _ = rgb.shape
    scale = SIZE / max(height, width)
    h, w = max(1, round(height * scale)), max(1, round(width * scale))
    image = torch.from_numpy(rgb).permute(0, 3, 1, 2)  # a channels-last view, no copy
    small = F.interpolate(image, size=(h, w), mode="bilinear", antialias=True)
    grey = torch.einsum("nchw,c->nhw", small.float(), LUMA).round_().clamp_(0, 255).to(torch.uint8)
    out = np.zeros((n, SIZE, SIZE), dtype=np.uint8)
    top, left = (SIZE - h) // 2, (SIZE - w) // 2
    out[:, top:top + h, left:left + w] = grey.numpy()
    return out
