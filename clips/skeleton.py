"""Skeleton sequences on the internal 21-joint set: validation, gap filling, normalisation, resampling.

Convention: positions are (T, 21, D), D = 2 or 3, float64, NaN = joint missing in that frame, joints in
``clips.layouts.JOINTS`` order. x points right and y points up; image coordinates are flipped on the way
in (``map_to_internal``), so "up" means up in every layout. 3D data keeps its source's units and origin.
"""

from __future__ import annotations

import logging
from typing import ClassVar

import numpy as np
from pydantic import ValidationInfo, field_validator, model_validator

from flexaqa.clips.base import ClipModel, as_float_array, check_finite, freeze, positive_number
from flexaqa.clips.errors import ClipError
from flexaqa.clips.layouts import JOINT_INDEX, JOINTS, get_layout

logger = logging.getLogger(__name__)

MIN_FRAMES = 2
MAX_FRAMES = 100_000

class Skeleton(ClipModel):
    """A pose sequence: ``positions`` (T, 21, D) on the internal joints, ``fps``, and its source layout."""

    field_prefix: ClassVar[str] = "skeleton"

    positions: np.ndarray
    fps: float
    layout: str = "FLEX-21"
    confidence: np.ndarray | None = None
    """Optional (T, 21) per-joint confidence in [0, 1]; NaN = unknown."""
    ears: np.ndarray | None = None
    """Optional (T, 2, D) left and right ear of a camera layout, in the joints' frame (``clips.layouts.EARS``:
    not internal joints, only the facing of a 2D view reads them); NaN = missing."""
    ear_confidence: np.ndarray | None = None
    """Optional (T, 2) confidence of ``ears`` in [0, 1]."""

    @field_validator("positions", mode="before")
    @classmethod
    def _check_positions(cls, value: object) -> np.ndarray:
        data = as_float_array(value, "skeleton.positions")
        if data.ndim != 3 or data.shape[1] != len(JOINTS) or data.shape[2] not in (2, 3):
            raise ClipError(
                "skeleton.positions", f"expected shape (frames, {len(JOINTS)}, 2|3), got {data.shape}"
            )
        frames = data.shape[0]
        if frames < MIN_FRAMES:
            raise ClipError("skeleton.positions", f"too short: {frames} frame(s), need at least {MIN_FRAMES}")
        if frames > MAX_FRAMES:
            raise ClipError("skeleton.positions", f"too long: {frames} frames, at most {MAX_FRAMES}")
        check_finite(data, "skeleton.positions", allow_nan=True)
        nan = np.isnan(data)
        if nan.any():  # coordinate by coordinate: numpy reduces a length-3 axis slowly
            missing = nan[:, :, 0]
            partial = np.zeros_like(missing)
            for axis in range(1, data.shape[2]):
                partial |= nan[:, :, axis] != missing
            if partial.any():
                frame, joint = (int(i) for i in np.argwhere(partial)[0])
                raise ClipError(
                    "skeleton.positions",
                    f"frame {frame} joint {JOINTS[joint]} has some coordinates NaN and others not",
                )
            if missing.all():
                raise ClipError("skeleton.positions", "every joint is missing in every frame")
        data.flags.writeable = False
        return data

    @field_validator("fps", mode="before")
    @classmethod
    def _check_fps(cls, value: object) -> float:
        return positive_number(value, "skeleton.fps")

    @field_validator("layout", mode="before")
    @classmethod
    def _check_layout(cls, value: object) -> str:
        return get_layout(value).name  # type: ignore[arg-type]

    @field_validator("confidence", mode="before")
    @classmethod
    def _check_confidence(cls, value: object) -> np.ndarray | None:
        if value is None:
            return None
        data = as_float_array(value, "skeleton.confidence")
        check_finite(data, "skeleton.confidence", allow_nan=True)
        with np.errstate(invalid="ignore"):
            if ((data < 0) | (data > 1)).any():
                raise ClipError("skeleton.confidence", "values must lie in [0, 1]")
        data.flags.writeable = False
        return data

    @field_validator("ears", "ear_confidence", mode="before")
    @classmethod
    def _check_ears(cls, value: object, info: ValidationInfo) -> np.ndarray | None:
        if value is None:
            return None
        field = f"skeleton.{info.field_name}"
        data = as_float_array(value, field)
        check_finite(data, field, allow_nan=True)
        data.flags.writeable = False
        return data

    @model_validator(mode="after")
    def _check_confidence_shape(self) -> Skeleton:
        if self.confidence is not None and self.confidence.shape != self.positions.shape[:2]:
            raise ClipError(
                "skeleton.confidence",
                f"expected shape {self.positions.shape[:2]} to match positions, got {self.confidence.shape}",
            )
        frames, dims = self.positions.shape[0], self.positions.shape[2]
        for name, value, shape in (("ears", self.ears, (frames, 2, dims)),
                                   ("ear_confidence", self.ear_confidence, (frames, 2))):
            if value is not None and value.shape != shape:
                raise ClipError(f"skeleton.{name}", f"expected shape {shape} to match positions, got {value.shape}")
        with np.errstate(invalid="ignore"):
            if self.ear_confidence is not None and ((self.ear_confidence < 0) | (self.ear_confidence > 1)).any():
                raise ClipError("skeleton.ear_confidence", "values must lie in [0, 1]")
        return self

    @property
    def is_3d(self) -> bool:
        return self.positions.shape[2] == 3

    @property
    def frames(self) -> int:
        return self.positions.shape[0]

    @property
    def duration(self) -> float:
        """Seconds from the first to the last frame."""
        return (self.frames - 1) / self.fps

    def joint(self, name: str) -> np.ndarray:
        """(T, D) trajectory of one internal joint."""
        if name not in JOINT_INDEX:
            raise ClipError("joint", f"unknown joint {name!r}; joints: {', '.join(JOINTS)}")
        return self.positions[:, JOINT_INDEX[name]]

    def missing_joints(self) -> list[str]:
        """Internal joints absent in every frame."""
        return [name for i, name in enumerate(JOINTS) if np.isnan(self.positions[:, i, 0]).all()]

    def replace(self, **changes: object) -> Skeleton:
        """A validated copy with some fields changed. Arrays given are frozen and shared, not copied: pass
        fresh results that nobody else writes to."""
        for value in changes.values():
            if isinstance(value, np.ndarray):
                freeze(value)
        return Skeleton(**{**self.__dict__, **changes})


def fill_gaps(
    skeleton: Skeleton, max_gap: int = 5, min_confidence: float | None = None
) -> tuple[Skeleton, dict[str, float]]:
    """Linearly bridge interior runs of up to ``max_gap`` missing frames per joint.

    Points below ``min_confidence`` count as missing first. Runs touching either end stay missing (no
    extrapolation). Returns the new skeleton (the same one when nothing changed) and, per joint, the
    fraction of frames that were filled.
    """
    if max_gap < 0:
        raise ClipError("max_gap", f"must be >= 0, got {max_gap}")
    positions = skeleton.positions
    if min_confidence is not None and skeleton.confidence is not None:
        with np.errstate(invalid="ignore"):
            unsure = skeleton.confidence < min_confidence
        if unsure.any():
            positions = positions.copy()
            positions[unsure] = np.nan
    missing = np.isnan(positions[:, :, 0])
    if not missing.any():
        return skeleton, dict.fromkeys(JOINTS, 0.0)
    fill = _short_interior_gaps(missing, max_gap)
    filled = dict(zip(JOINTS, fill.mean(axis=0).tolist(), strict=True))
    if positions is skeleton.positions and not fill.any():
        return skeleton, filled
    positions = positions.copy()
    frames = np.arange(skeleton.frames)
    for j in np.flatnonzero(fill.any(axis=0)):
        valid, gaps = ~missing[:, j], fill[:, j]
        for axis in range(positions.shape[2]):
            positions[gaps, j, axis] = np.interp(frames[gaps], frames[valid], positions[valid, j, axis])
    logger.debug("filled gaps: %s", {k: v for k, v in filled.items() if v})
    return skeleton.replace(positions=positions), filled


def _short_interior_gaps(missing: np.ndarray, max_gap: int) -> np.ndarray:
    """(T, J) mask of missing frames in runs of length <= max_gap with valid frames on both sides."""
    frames, joints = missing.shape
    padded = np.zeros((joints, frames + 2), np.int8)
    padded[:, 1:-1] = missing.T
    edges = np.diff(padded, axis=1)  # +1 where a run starts, -1 just after it ends; row-major pairs them up
    joint, start = np.nonzero(edges == 1)
    end = np.nonzero(edges == -1)[1]
    keep = (start > 0) & (end < frames) & (end - start <= max_gap)
    marks = np.zeros((joints, frames + 1), np.int32)
    np.add.at(marks, (joint[keep], start[keep]), 1)
    np.add.at(marks, (joint[keep], end[keep]), -1)
    return np.cumsum(marks, axis=1)[:, :frames].T > 0


def centre_on_pelvis(skeleton: Skeleton) -> Skeleton:
    """Subtract the pelvis from every joint per frame, so position in the room or image drops out.

    Frames without a pelvis become missing; fill gaps first to keep them.
    """
    pelvis = skeleton.positions[:, JOINT_INDEX["pelvis"]]
    if np.isnan(pelvis).all():
        raise ClipError("skeleton.positions", "pelvis is missing in every frame, cannot root-centre")
    ears = None if skeleton.ears is None else skeleton.ears - pelvis[:, None, :]
    return skeleton.replace(positions=skeleton.positions - pelvis[:, None, :], ears=ears)


def median_torso_length(positions: np.ndarray) -> float | None:
    """Median pelvis-thorax distance of (T, 21, D) ``positions`` over the frames that have both, or None.

    The torso is the body's yardstick: distances in torso lengths do not depend on body size or camera distance.
    """
    lengths = np.linalg.norm(positions[:, JOINT_INDEX["thorax"]] - positions[:, JOINT_INDEX["pelvis"]], axis=1)
    lengths = lengths[np.isfinite(lengths)]
    return float(np.median(lengths)) if lengths.size else None


def torso_length(skeleton: Skeleton) -> float:
    """Median pelvis-thorax distance over the frames that have both."""
    length = median_torso_length(skeleton.positions)
    if length is None:
        raise ClipError("skeleton.positions", "no frame has both pelvis and thorax, torso length unknown")
    return length


def scale_by_torso(skeleton: Skeleton) -> Skeleton:
    """Divide positions by the torso length, so body size and camera distance drop out."""
    length = torso_length(skeleton)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        scaled = skeleton.positions / length
    if length <= 0 or np.isinf(scaled).any() or np.nanmax(np.abs(scaled)) > 1e6:
        raise ClipError("skeleton.positions", f"torso length {length:g} is too small to scale by")
    return skeleton.replace(positions=scaled, ears=None if skeleton.ears is None else skeleton.ears / length)


def resample(skeleton: Skeleton, length: int) -> Skeleton:
    """Linearly resample to ``length`` frames over the same duration (fps changes accordingly).

    A missing point stays missing, and spreads to the new frames that fall next to it.
    """
    from scipy.interpolate import make_interp_spline
    if isinstance(length, bool) or not isinstance(length, int | np.integer) or length < MIN_FRAMES:
        raise ClipError("length", f"must be an integer >= {MIN_FRAMES}, got {length!r}")
    if length > MAX_FRAMES:
        raise ClipError("length", f"must be at most {MAX_FRAMES}, got {length}")
    old_t = np.linspace(0.0, 1.0, skeleton.frames)
    new_t = np.linspace(0.0, 1.0, int(length))
    positions = make_interp_spline(old_t, skeleton.positions, k=1, axis=0, check_finite=False)(new_t)
    fields = {name: None if getattr(skeleton, name) is None
              else make_interp_spline(old_t, getattr(skeleton, name), k=1, axis=0, check_finite=False)(new_t)
              for name in ("confidence", "ears", "ear_confidence")}
    fps = skeleton.fps * (int(length) - 1) / (skeleton.frames - 1)
    return skeleton.replace(positions=positions, fps=fps, **fields)
