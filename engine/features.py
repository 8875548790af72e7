"""The feature vocabulary, implemented once. Which feature, where and how much is Turtle (detectors).

Every feature is named after its ``fkg:Feature`` individual in ``ontology/fkg.ttl``. Skeleton features
give one value per frame of a span; EMG features and durations give one number. A feature that cannot
be measured on the data at hand raises :class:`Abstain` with the reason, and the detector abstains too.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

import numpy as np

from flexaqa.clips.layouts import JOINT_INDEX
from flexaqa.clips.skeleton import median_torso_length

SIDES = ("left", "right")


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
    sides: dict[str, str] = field(default_factory=dict)
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
        if self.positions is None:
            raise Abstain("no skeleton in this clip")
        if name not in JOINT_INDEX:
            raise Abstain(f"unknown joint {name!r}")
        side = name.removesuffix("_foot")
        if side in self._toeless_sides:
            if isinstance(self._toe_estimate, str):
                raise Abstain(f"joint {name} is not tracked and cannot be estimated: {self._toe_estimate}")
            if along_floor:
                return self._toe_estimate[side][span]
            raise Abstain(f"joint {name} is not tracked; its estimate from the ankle tells only how far ahead it is")
        track = self.square[span, JOINT_INDEX[name]]
        if np.isnan(track).all():
            raise Abstain(f"joint {name} is not tracked")
        return track

    @cached_property
    def square(self) -> np.ndarray | None:
        """``positions`` with x multiplied by :attr:`x_scale`: one unit is as long across the picture as up
        it, so lengths, angles and offsets in torso lengths mean the same whichever way a segment points.
        Every skeleton feature reads these; ``positions`` stay as given."""
        return _widened(self.positions, self.x_scale)

    @cached_property
    def _square_ears(self) -> np.ndarray | None:
        return _widened(self.ears, self.x_scale)

    @cached_property
    def estimated_toes(self) -> tuple[str, ...]:
        """Sides whose toe tip the 2D layout never gives (COCO-17, OpenPose-18) and :meth:`joint` estimates."""
        return () if isinstance(self._toe_estimate, str) else self._toeless_sides

    @cached_property
    def _toeless_sides(self) -> tuple[str, ...]:
        """Sides of a 2D view whose layout gives no toe (:attr:`toes_tracked`) and whose ankle is tracked. Not a
        side cleaning hid (its ankle is gone), nor a layout with toes whose toes dropped out, nor any side of a
        3D skeleton: their missing toe is a dropout, not a gap in the layout."""
        if self.positions is None or self.is_3d or self.toes_tracked:
            return ()
        if self.toes_tracked is None and any(not np.isnan(self._raw(f"{s}_foot")).all() for s in SIDES):
            return ()  # layout unknown: a layout with toes tracks one somewhere in a set
        return tuple(s for s in SIDES if self.sides.get("leg", "both") in (s, "both")
                     and not np.isnan(self._raw(f"{s}_ankle")).all())

    @cached_property
    def _toe_estimate(self) -> dict[str, np.ndarray] | str:
        """Per side of :attr:`_toeless_sides`, (T, 2) toe tips placed from the ankle: :data:`FOOT_REACH` shank
        lengths ahead along the facing direction and :data:`ANKLE_HEIGHT` shank lengths down; or why they
        cannot be placed.

        The shank (knee to ankle) is the tracked segment that scales the foot: it is the foot's neighbour and
        it is seen whole from the side in every lift. Its length in the picture is read around each frame
        (:data:`SCALE_WINDOW`), not once per recording: the lifter's size in the picture changes with the
        camera distance, between sets or people of one recording. All in square units (:attr:`square`).
        """
        if isinstance(self.facing, str):
            return self.facing
        lengths = {side: np.linalg.norm(self._raw(f"{side}_knee") - self._raw(f"{side}_ankle"), axis=1)
                   for side in SIDES}
        if all(np.isnan(length).all() for length in lengths.values()):
            return "the shank (knee to ankle) that scales the foot is not tracked"
        either = np.fmax(*lengths.values())  # one person: where a shank is lost, the other leg's serves
        window = max(1, int(SCALE_WINDOW * self.fps))
        out = {}
        for side in self._toeless_sides:
            shank = _rolling_nanmedian(np.where(np.isnan(lengths[side]), either, lengths[side]), window)
            reach = self.facing.direction[:, 0] * FOOT_REACH * shank
            out[side] = self._raw(f"{side}_ankle") + np.column_stack([reach, -ANKLE_HEIGHT * shank])
        return out

    @cached_property
    def x_scale(self) -> float:
        """How many picture-height units one horizontal unit of this 2D view spans: 1 for pixels, the image's
        width / height for coordinates normalised per axis (MediaPipe writes x / width and y / height); 1 when
        it cannot be read (:attr:`x_scale_unknown` says why).

        Pixels (any coordinate beyond :data:`NORMALISED_LIMIT`) are square: 1. Normalised coordinates carry
        no image size, so the scale is read from the skeleton itself: bones keep their length, and the scale
        is the one that makes the limb bones' lengths steadiest (least variance of log length) as they turn
        through the set. Only bones that turn through :data:`MIN_BONE_TURN` tell the ratio, and a best fit at
        the edge of :data:`ASPECT_RANGE` tells none (a limb moving out of the picture plane changes its length
        as no picture shape does): the ratio is then unknown and 1 is kept.
        """
        scale, _ = self._aspect
        return scale

    @property
    def x_scale_unknown(self) -> str | None:
        """Why :attr:`x_scale` could not be read from normalised keypoints and 1 was assumed; None otherwise."""
        _, reason = self._aspect
        return reason

    @cached_property
    def _aspect(self) -> tuple[float, str | None]:
        if self.positions is None or self.is_3d or np.nanmax(np.abs(self.positions)) > NORMALISED_LIMIT:
            return 1.0, None
        bones = []
        for side in SIDES:
            for a, b in (("shoulder", "elbow"), ("elbow", "wrist"), ("hip", "knee"), ("knee", "ankle")):
                d = self.positions[:, JOINT_INDEX[f"{side}_{a}"]] - self.positions[:, JOINT_INDEX[f"{side}_{b}"]]
                d = d[~np.isnan(d).any(axis=1) & (np.abs(d).sum(axis=1) > 0)]
                if len(d) >= self.fps and _turn_degrees(d) >= MIN_BONE_TURN:  # a second of frames, turning
                    bones.append(d)
        if not bones:
            return 1.0, f"no limb bone turns through {MIN_BONE_TURN:g} degrees in the picture"
        grid = np.geomspace(1 / ASPECT_RANGE, ASPECT_RANGE, 241)
        cost = sum(np.var(np.log(np.hypot(grid[:, None] * d[:, 0], d[:, 1])), axis=1) for d in bones)
        best = int(np.argmin(cost))
        if best in (0, len(grid) - 1):
            # no picture is that shape (ASPECT_RANGE): the bones change length for another reason, most
            # likely a limb moving out of the picture plane, and the fit runs away to the search limit
            return 1.0, (f"the bones' lengths fit no picture shape up to {ASPECT_RANGE:g}:1 (a limb moving out of "
                         "the picture plane?)")
        return float(grid[best]), None

    def torso_length(self) -> float:
        length = None if self.square is None else median_torso_length(self.square)
        if length is None or length <= 0:
            raise Abstain("torso length cannot be measured")
        return length

    def up(self) -> np.ndarray:
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
    def facing(self) -> Facing | str:
        """Which way the lifter faces, frame by frame, and the cue that told it; or why it cannot be told.

        Where the toes point decides when the feet are tracked (averaged over both feet and about a second,
        as a lifter may turn between sets of a recording but not within a second). A 2D view without toes
        (COCO-17, OpenPose-18) is read from the body, over the same second, by the first cue that is clear
        there (:data:`FACING_CUES`): the nose ahead of the neck, the knees bending forward of the hip-ankle
        line, the hands working in front of the shoulders, the nose and the ears. Where a second straddles a
        turn (or a cut between recordings), its votes split; a shorter window then decides
        (:data:`FACING_WINDOWS`).
        """
        if self.positions is None:
            return "no skeleton in this clip"
        toes = self._toes_forward()
        if toes is not None:
            return Facing(toes, "toes")
        if self.is_3d:
            return "facing direction needs ankle and toe joints"
        direction = np.full(self.positions.shape[0], np.nan)
        decided: dict[str, int] = {}
        for window in FACING_WINDOWS:
            for cue in FACING_CUES:
                sign = _windowed_sign(self._cue_offsets(cue), max(1, int(window * self.fps)))
                new = np.isnan(direction) & ~np.isnan(sign)
                direction[new] = sign[new]
                decided[cue] = decided.get(cue, 0) + int(new.sum())
        if np.isnan(direction).all():
            return ("facing direction cannot be told: no toes, and neither the face, the knees, the hands nor the ears "
                    "show it")
        return Facing(direction[:, None], max(decided, key=decided.__getitem__))

    def _toes_forward(self) -> np.ndarray | None:
        pointing = []
        for side in SIDES:
            toes = self._raw(f"{side}_foot") - self._raw(f"{side}_ankle")
            if not np.isnan(toes).all():
                pointing.append(self.horizontal(toes))
        if not pointing:
            return None
        direction = np.nanmean(np.stack(pointing), axis=0)
        kernel = np.ones(max(1, int(self.fps)))
        valid = ~np.isnan(direction[:, 0])
        summed = np.stack([np.convolve(np.where(valid, d, 0.0), kernel, "same") for d in direction.T], axis=1)
        norm = np.linalg.norm(summed, axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            unit = np.where(norm > 0, summed / norm, np.nan)
        return None if np.isnan(unit).all() else unit

    def _cue_offsets(self, cue: str) -> np.ndarray:
        """(T, k) horizontal offsets, in torso lengths, that point the way the lifter faces where they are
        large (:data:`FACING_MIN_OFFSET`); NaN where a joint is missing."""
        try:
            torso = self.torso_length()
        except Abstain:
            return np.full((self.positions.shape[0], 0), np.nan)
        if cue == "ears":
            ears = self._square_ears
            if ears is None:
                return np.full((self.positions.shape[0], 0), np.nan)
            pairs = [(self._raw("head"), ears[:, k]) for k in range(2)]
            pairs += [(ears[:, k], self._raw("thorax")) for k in range(2)]
        elif cue == "face":
            pairs = [(self._raw("head"), self._raw("neck"))]
        elif cue == "knees":
            pairs = [(self._raw(f"{s}_knee"), 0.5 * (self._raw(f"{s}_hip") + self._raw(f"{s}_ankle"))) for s in SIDES]
        else:
            pairs = [(self._raw(f"{s}_wrist"), self._raw(f"{s}_shoulder")) for s in SIDES]
        return np.stack([(a - b)[:, 0] / torso for a, b in pairs], axis=1)

    def _raw(self, name: str) -> np.ndarray:
        """``name``'s whole track in square units, untracked or not (no abstaining, no toe estimate)."""
        return self.square[:, JOINT_INDEX[name]]


FACING_CUES = ("face", "knees", "hands", "ears")
"""Cues for the facing direction of a 2D view without toes, most reliable first: the face always points
forward and is tracked by every layout; knees bend only forward but a curl keeps them straight; the hands
work in front of the body in most lifts, but not all (an overhead triceps extension). Last, the ears (COCO-17,
OpenPose and MediaPipe give them): the nose lies ahead of the ears (~10 cm, 0.2 torso lengths), and where the
nose is lost (the head turned down or away) the ear still sits ahead of the mid-shoulder in a lifter's usual
forward head posture (craniovertebral angle under 90 deg); an ear far behind the shoulders is rare, so the
pairs agree or the cue stays silent (:data:`FACING_AGREEMENT`)."""
FOOT_REACH = 0.46
"""Ankle joint to toe tip along the floor, in shank lengths (knee to ankle joint centres). Winter, Biomechanics
and Motor Control of Human Movement, 4th ed. (2009), Fig. 4.1 (segment lengths after Drillis & Contini 1966):
foot length 0.152 H, knee height 0.285 H and ankle height 0.039 H, so the shank is 0.246 H. The ankle sits
above a point about a quarter of the foot length from the heel (an assumption of foot shape, not in that
table), leaving 0.75 x 0.152 H = 0.114 H ahead of it: 0.46 shank lengths. Not fitted to any recording."""
ANKLE_HEIGHT = 0.16
"""Ankle joint above the floor (and the toe tip of a flat foot), in shank lengths: 0.039 H / 0.246 H (Winter, as
above)."""
SCALE_WINDOW = 2.0
"""Seconds around a frame over which a bone's length in the picture is read (its median): long enough that a
knee or ankle misplaced for a fraction of a second does not move it, short enough to follow the lifter's size
as the camera distance changes between sets, or a lifter stepping toward the camera, which takes seconds."""
NORMALISED_LIMIT = 2.0
"""Largest coordinate of normalised keypoints: they lie in [0, 1] of the picture's width and height (a little
beyond for a point off the picture, as MediaPipe writes it); a detector's pixel coordinates exceed 2."""
ASPECT_RANGE = 2.5
"""Widest image aspect ratio :meth:`Recording.x_scale` considers, either way: 21:9 (2.33) and a portrait phone
video (9:16) lie inside."""
MIN_BONE_TURN = 45.0
"""Degrees a bone must turn through in the picture to tell :meth:`Recording.x_scale`. Geometry: a bone's length
read with a horizontal scale k too large grows from L (upright) to L * sqrt((k^2 + 1) / 2) at 45 degrees, so a
10 % error of the scale changes it by 5 % over such a turn, above a detector's jitter on a bone (assumed ~2 px on a
limb bone of ~100 px in a phone frame); a bone that turns less says little and lets the fit drift."""
FACING_WINDOWS = (1.0, 0.25)
"""Seconds over which a facing cue's votes are pooled, tried in turn for the frames still undecided: a second
outvotes jitter; a quarter second decides the frames next to a turn, where a second holds both directions."""
FACING_MIN_OFFSET = 0.05
"""Torso lengths (~2.5 cm) an offset must reach to count as a vote: less is keypoint jitter."""
FACING_AGREEMENT = 0.8
"""Share of the votes within a window (:data:`FACING_WINDOWS`) that must agree for a cue to decide there."""
FACING_MIN_VOTES = 0.25
"""Votes a cue needs within a window, as a share of its frames (a quarter of it with clear offsets)."""

@dataclass(frozen=True)
class Facing:
    """Which way the lifter faces: (T, H) unit vectors in the horizontal plane, and the cue that told it."""

    direction: np.ndarray
    cue: str

    def image_side(self) -> str | None:
        """"left" or "right": where the lifter faces in the picture (2D views), else None."""
        if self.direction.shape[1] != 1:
            return None
        mean = float(np.nanmean(self.direction[:, 0]))
        return "right" if mean > 0 else "left"  # a lifter who turns is named by the way faced longer


def _widened(points: np.ndarray | None, x_scale: float) -> np.ndarray | None:
    """``points`` (..., D) with x multiplied by ``x_scale`` (a copy, or the same array when there is nothing
    to do)."""
    if points is None or x_scale == 1.0:
        return points
    out = np.array(points, dtype=float)
    out[..., 0] *= x_scale
    return out


def _turn_degrees(bone: np.ndarray) -> float:
    """The arc, in degrees, that a (n, 2) bone's direction in the picture sweeps over a set (the full circle
    less its largest unvisited gap)."""
    angles = np.sort(np.degrees(np.arctan2(bone[:, 1], bone[:, 0])))
    return float(360.0 - np.diff(np.append(angles, angles[0] + 360.0)).max())


def _windowed_sign(offsets: np.ndarray, window: int) -> np.ndarray:
    """(T,) +1 or -1 where, within ``window`` frames around a frame, the large offsets (all columns) agree in
    sign (:data:`FACING_AGREEMENT`) and are enough (:data:`FACING_MIN_VOTES`); NaN elsewhere."""
    frames = offsets.shape[0]
    if offsets.shape[1] == 0:
        return np.full(frames, np.nan)
    with np.errstate(invalid="ignore"):
        large = np.abs(offsets) > FACING_MIN_OFFSET
    kernel = np.ones(window)
    votes = np.convolve(np.where(large, np.sign(offsets), 0.0).sum(axis=1), kernel, "same")
    count = np.convolve(large.sum(axis=1).astype(float), kernel, "same")
    clear = (count >= FACING_MIN_VOTES * window) & (np.abs(votes) >= (2 * FACING_AGREEMENT - 1) * count)
    return np.where(clear, np.sign(votes), np.nan)


def _rolling_nanmedian(values: np.ndarray, window: int) -> np.ndarray:
    """(T,) median of the non-NaN ``values`` within ``window`` frames centred on each frame (narrower at the
    ends); NaN where that window holds none. The median outvotes a misplaced joint in a minority of frames."""
    half = window // 2
    padded = np.pad(values.astype(float), half, constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN window is NaN, as documented
        return np.nanmedian(windows, axis=1)


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
