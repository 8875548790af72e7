"""The feature vocabulary, implemented once. Which feature, where and how much is Turtle (detectors).

Every feature is named after its ``fkg:Feature`` individual in ``ontology/fkg.ttl``. Skeleton features
give one value per frame of a span; EMG features and durations give one number. A feature that cannot
be measured on the data at hand raises :class:`Abstain` with the reason, and the detector abstains too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

import numpy as np

from flexaqa.clips.cleaning import SideUsed
from flexaqa.clips.layouts import JOINT_INDEX
from flexaqa.clips.skeleton import median_torso_length
from flexaqa.engine import camera
from flexaqa.engine.camera import SIDES

NO_SKELETON = "no skeleton in this clip"
"""Why a skeleton feature abstains on a clip with only sEMG."""


class Abstain(Exception):  # it is a verdict, not a failure
    """The feature cannot be measured here (2D data, joint missing, no sEMG); the reason says why."""


@dataclass(frozen=True)
class Recording:
    """What features read from one clip: internal-joint positions, and the sEMG envelope when present.

    ``positions`` is (T, 21, D) with y up; ``envelope`` is (samples, channels) with ``channels`` giving
    (muscle id, side) -> column.
    """

    positions: np.ndarray | None
    fps: float
    envelope: np.ndarray | None = None
    emg_rate: float | None = None
    channels: dict[tuple[str, str], int] | None = None
    sides: dict[str, SideUsed] = field(default_factory=dict)
    """Per limb, the side kept by keypoint cleaning (``clips.cleaning``); empty when nothing was chosen."""
    ears: np.ndarray | None = None
    """(T, 2, D) left and right ear of a camera layout that has them (``Skeleton.ears``); only the facing reads
    them."""
    toes_tracked: bool | None = None
    """Whether the skeleton's layout has toe joints (``Layout.tracks_toes``): if it has, a toe missing is a
    dropout and abstains; if not (COCO-17, OpenPose-18), a 2D view's toe tips are estimated. None (unknown, as
    for a Recording built from bare positions) reads it from the data: no toe in any frame, no toes."""

    @property
    def is_3d(self) -> bool:
        return self.positions is not None and self.positions.shape[2] == 3

    def joint(self, name: str, span: slice, along_floor: bool = False) -> np.ndarray:
        """``name``'s track over ``span``, in square units (:attr:`square`). A measure that reads only
        ``along_floor`` (how far ahead a point is) gets a 2D view's untracked toe tip estimated
        (:meth:`estimated_toes`); any other measure abstains there, as the estimate assumes a flat foot and
        cannot show a heel rising or a foot tilting."""
        square = self.square
        if square is None:
            raise Abstain(NO_SKELETON)
        if name not in JOINT_INDEX:
            raise Abstain(f"unknown joint {name!r}")
        side = name.removesuffix("_foot")
        if side in self._toeless_sides:
            if isinstance(self._toe_estimate, str):
                raise Abstain(f"joint {name} is not tracked and cannot be estimated: {self._toe_estimate}")
            if along_floor:
                return self._toe_estimate[side][span]
            raise Abstain(f"joint {name} is not tracked; its estimate from the ankle tells only how far ahead it is")
        track = square[span, JOINT_INDEX[name]]
        if np.isnan(track).all():
            raise Abstain(f"joint {name} is not tracked")
        return track

    @cached_property
    def square(self) -> np.ndarray | None:
        """``positions`` with x multiplied by :attr:`x_scale`: one unit is as long across the picture as up
        it, so lengths, angles and offsets in torso lengths mean the same whichever way a segment points.
        Every skeleton feature reads these; ``positions`` stay as given."""
        return camera.widened(self.positions, self.x_scale)

    @cached_property
    def estimated_toes(self) -> tuple[camera.Side, ...]:
        """Sides whose toe tip the 2D layout never gives (COCO-17, OpenPose-18) and :meth:`joint` estimates."""
        return () if isinstance(self._toe_estimate, str) else self._toeless_sides

    @cached_property
    def _toeless_sides(self) -> tuple[camera.Side, ...]:
        return () if self.square is None else camera.toeless_sides(self.square, self.toes_tracked, self.sides)

    @cached_property
    def _toe_estimate(self) -> dict[str, np.ndarray] | str:
        if self.square is None:
            return NO_SKELETON
        return camera.toe_estimate(self.square, self.facing, self.fps, self._toeless_sides)

    @property
    def x_scale(self) -> float:
        """How many picture-height units one horizontal unit of this 2D view spans (:func:`engine.camera.aspect`);
        1 when it cannot be read (:attr:`x_scale_unknown` says why)."""
        return self._aspect[0]

    @property
    def x_scale_unknown(self) -> str | None:
        """Why :attr:`x_scale` could not be read from normalised keypoints and 1 was assumed; None otherwise."""
        return self._aspect[1]

    @cached_property
    def _aspect(self) -> tuple[float, str | None]:
        return (1.0, None) if self.positions is None else camera.aspect(self.positions, self.fps)

    def torso_length(self) -> float:
        length = None if self.square is None else median_torso_length(self.square)
        if length is None or length <= 0:
            raise Abstain("torso length cannot be measured")
        return length

    def up(self) -> np.ndarray:
        if self.positions is None:
            raise Abstain(NO_SKELETON)
        return np.eye(self.positions.shape[2])[1]

    def horizontal(self, vectors: np.ndarray) -> np.ndarray:
        """Drop the vertical (y) component."""
        return np.delete(vectors, 1, axis=-1)

    def forward(self, span: slice) -> np.ndarray:
        """(n, H) unit vectors: the lifter's facing direction in the horizontal plane, frame by frame (see
        :attr:`facing` for how it is told)."""
        if isinstance(self.facing, str):
            raise Abstain(self.facing)
        return self.facing.direction[span]

    @cached_property
    def facing(self) -> camera.Facing | str:
        """Which way the lifter faces, frame by frame, and the cue that told it; or why it cannot be told
        (:func:`engine.camera.facing`)."""
        if self.square is None:
            return NO_SKELETON
        return camera.facing(self.square, camera.widened(self.ears, self.x_scale), self.fps)



def _angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    cos = np.einsum("td,td->t", u, v) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def joint_angle(rec: Recording, joints: tuple[str, ...], span: slice) -> np.ndarray:
    a, b, c = (rec.joint(j, span) for j in joints)
    return _angle(a - b, c - b)


def segment_inclination(rec: Recording, joints: tuple[str, ...], span: slice) -> np.ndarray:
    a, b = (rec.joint(j, span) for j in joints)
    return _angle(b - a, np.broadcast_to(rec.up(), a.shape))


def horizontal_offset(rec: Recording, joints: tuple[str, ...], span: slice) -> np.ndarray:
    a, b = (rec.joint(j, span, along_floor=True) for j in joints)
    return np.einsum("th,th->t", rec.horizontal(a - b), rec.forward(span)) / rec.torso_length()


def leading_side(rec: Recording, span: slice) -> np.ndarray:
    """(n,) True where the left foot is ahead of the right one along the facing direction (the front leg
    of a lunge or split stance)."""
    gap = rec.joint("left_foot", span, along_floor=True) - rec.joint("right_foot", span, along_floor=True)
    return np.einsum("th,th->t", rec.horizontal(gap), rec.forward(span)) > 0


def vertical_offset(rec: Recording, joints: tuple[str, ...], span: slice) -> np.ndarray:
    a, b = (rec.joint(j, span) for j in joints)
    return (a - b)[:, 1] / rec.torso_length()


def width_ratio(rec: Recording, joints: tuple[str, ...], span: slice) -> np.ndarray:
    top, bottom = joints
    width = [
        np.linalg.norm(rec.horizontal(rec.joint(f"left_{j}", span) - rec.joint(f"right_{j}", span)), axis=1)
        for j in (top, bottom)
    ]
    return width[0] / np.where(width[1] > 0, width[1], np.nan)


def height_asymmetry(rec: Recording, joints: tuple[str, ...], span: slice) -> np.ndarray:
    (j,) = joints
    return np.abs(rec.joint(f"left_{j}", span)[:, 1] - rec.joint(f"right_{j}", span)[:, 1]) / rec.torso_length()


def duration(rec: Recording, joints: tuple[str, ...], span: slice) -> float:
    return (span.stop - span.start) / rec.fps


def _emg_window(rec: Recording, muscle: str, side: str, span: slice) -> np.ndarray:
    if rec.envelope is None or rec.channels is None or rec.emg_rate is None:
        raise Abstain("no sEMG in this clip")
    column = rec.channels.get((muscle, side))
    if column is None:
        raise Abstain(f"no {side} sEMG channel over {muscle}")
    start = int(span.start / rec.fps * rec.emg_rate)
    stop = max(start + 1, int(span.stop / rec.fps * rec.emg_rate))
    window = rec.envelope[start:stop, column]
    if window.size == 0:
        raise Abstain("the sEMG recording is shorter than the movement")
    return window


def emg_balance(rec: Recording, muscle: str, span: slice) -> float:
    left, right = (float(np.mean(_emg_window(rec, muscle, s, span))) for s in SIDES)
    total = left + right
    if total <= 0:
        raise Abstain(f"no {muscle} activity to compare")
    return abs(left - right) / total


def emg_onset_delay(rec: Recording, muscle: str, span: slice) -> float:
    delays = []
    for side in SIDES:
        try:
            window = _emg_window(rec, muscle, side, span)
        except Abstain:
            continue
        peak = float(window.max())
        if peak <= 0:
            continue
        on = np.flatnonzero(window >= 0.5 * peak)
        delays.append(on[0] / rec.emg_rate)
    if not delays:
        raise Abstain(f"no sEMG channel over {muscle}")
    return max(delays)


class SkeletonMeasure(Protocol):
    """A skeleton feature: joint names (Turtle ``fkg:joints``) over frames ``span`` -> one value per frame,
    or one number for the whole span."""

    def __call__(self, rec: Recording, joints: tuple[str, ...], span: slice) -> np.ndarray | float: ...


class EMGMeasure(Protocol):
    """An sEMG feature: one muscle's left and right channels (Turtle ``fkg:emgMuscle``) -> one number."""

    def __call__(self, rec: Recording, muscle: str, span: slice) -> float: ...


@dataclass(frozen=True)
class Feature:
    """How one ``fkg:Feature`` is computed and when it can be trusted.

    How many joint names a detector gives is Turtle (``fkg:jointCount``, checked by SHACL).
    ``bilateral``: unsided names (``knee``) are measured on each side. ``valid_in_2d``: sagittal
    measures read from a side view are; measures across the body (widths, left/right heights) need
    depth and abstain on 2D data.
    """

    compute: SkeletonMeasure | EMGMeasure
    bilateral: bool
    valid_in_2d: bool
    emg: bool = False


FEATURES: dict[str, Feature] = {
    "JointAngle": Feature(joint_angle, bilateral=True, valid_in_2d=True),
    "SegmentInclination": Feature(segment_inclination, bilateral=True, valid_in_2d=True),
    "HorizontalOffset": Feature(horizontal_offset, bilateral=True, valid_in_2d=True),
    "VerticalOffset": Feature(vertical_offset, bilateral=True, valid_in_2d=True),
    "WidthRatio": Feature(width_ratio, bilateral=False, valid_in_2d=False),
    "HeightAsymmetry": Feature(height_asymmetry, bilateral=False, valid_in_2d=False),
    "Duration": Feature(duration, bilateral=False, valid_in_2d=True),
    "EMGBalance": Feature(emg_balance, bilateral=False, valid_in_2d=True, emg=True),
    "EMGOnsetDelay": Feature(emg_onset_delay, bilateral=False, valid_in_2d=True, emg=True),
}
