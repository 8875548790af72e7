"""Side-view stick-figure frames of a skeleton: enough to exercise the video path of the pipeline."""

from __future__ import annotations

import numpy as np

from flexaqa.clips.layouts import BONES, JOINT_INDEX


def render_side_view(positions: np.ndarray, size: tuple[int, int] = (112, 112), view_angle: float = 0.0
                     ) -> np.ndarray:
    """(T, H, W, 3) uint8 frames of a (T, 21, 3) skeleton seen from the side (rotated by ``view_angle``)."""
    width, height = size
    a = np.radians(view_angle)
    x = positions[..., 0] * np.cos(a) + positions[..., 2] * np.sin(a)
    y = positions[..., 1]
    lo_x, hi_x, lo_y, hi_y = np.nanmin(x), np.nanmax(x), np.nanmin(y), np.nanmax(y)
    scale = 0.85 * min(width / max(hi_x - lo_x, 1e-6), height / max(hi_y - lo_y, 1e-6))
    u = (x - (lo_x + hi_x) / 2) * scale + width / 2
    v = height / 2 - (y - (lo_y + hi_y) / 2) * scale
    frames = np.full((positions.shape[0], height, width, 3), 24, dtype=np.uint8)
    steps = np.linspace(0.0, 1.0, 48)
    for t in range(positions.shape[0]):
        for a_name, b_name in BONES:
            i, j = JOINT_INDEX[a_name], JOINT_INDEX[b_name]
            pu = np.clip(np.round(u[t, i] + steps * (u[t, j] - u[t, i])), 0, width - 1).astype(int)
            pv = np.clip(np.round(v[t, i] + steps * (v[t, j] - v[t, i])), 0, height - 1).astype(int)
            frames[t, pv, pu] = (230, 230, 230)
    return frames
