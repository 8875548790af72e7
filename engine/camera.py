"""How a camera filmed the lift: which way the lifter faces, the picture's shape, and the toe tips a 2D layout
never gives.

A 3D skeleton knows all three; a phone's 2D keypoints do not, and the rules' sagittal measures need them
(:class:`engine.features.Recording` reads them from here, once per recording). Every function takes joint
tracks in square units (:func:`widened`) but :func:`aspect`, which finds that scale.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, overload

import numpy as np

from flexaqa.clips.layouts import JOINT_INDEX
from flexaqa.clips.skeleton import median_torso_length

Side = Literal["left", "right"]
Cue = Literal["toes", "face", "knees", "hands", "ears"]
"""What told the facing: the toes, or a body cue of :data:`FACING_CUES`."""

SIDES: tuple[Side, ...] = ("left", "right")

FACING_CUES: tuple[Cue, ...] = ("face", "knees", "hands", "ears")
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
"""Widest image aspect ratio :func:`aspect` considers, either way: 21:9 (2.33) and a portrait phone
video (9:16) lie inside."""
MIN_BONE_TURN = 45.0
"""Degrees a bone must turn through in the picture to tell :func:`aspect`. Geometry: a bone's length
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
    cue: Cue

    def image_side(self) -> Side | None:
        """"left" or "right": where the lifter faces in the picture (2D views), else None."""
        if self.direction.shape[1] != 1:
            return None
        mean = float(np.nanmean(self.direction[:, 0]))
        return "right" if mean > 0 else "left"  # a lifter who turns is named by the way faced longer


@overload
def widened(points: np.ndarray, x_scale: float) -> np.ndarray: ...
@overload
def widened(points: None, x_scale: float) -> None: ...
@overload
def widened(points: np.ndarray | None, x_scale: float) -> np.ndarray | None: ...
def widened(points: np.ndarray | None, x_scale: float) -> np.ndarray | None:
    """``points`` (..., D) with x multiplied by ``x_scale`` (a copy, or the same array when there is nothing
    to do)."""
    if points is None or x_scale == 1.0:
        return points
    out = np.array(points, dtype=float)
    out[..., 0] *= x_scale
    return out


def aspect(positions: np.ndarray, fps: float) -> tuple[float, str | None]:
    """(x scale, why it is unknown) of one recording's ``positions`` (T, 21, D): how many picture-height units one
    horizontal unit spans: 1 for pixels and 3D, the image's width / height for coordinates normalised per axis
    (MediaPipe writes x / width and y / height); 1 with the reason when it cannot be read.

    Pixels (any coordinate beyond :data:`NORMALISED_LIMIT`) are square: 1. Normalised coordinates carry
    no image size, so the scale is read from the skeleton itself: bones keep their length, and the scale
    is the one that makes the limb bones' lengths steadiest (least variance of log length) as they turn
    through the set. Only bones that turn through :data:`MIN_BONE_TURN` tell the ratio, and a best fit at
    the edge of :data:`ASPECT_RANGE` tells none (a limb moving out of the picture plane changes its length
    as no picture shape does): the ratio is then unknown and 1 is kept.
    """
    if positions.shape[2] == 3 or np.nanmax(np.abs(positions)) > NORMALISED_LIMIT:
        return 1.0, None
    bones = []
    for side in SIDES:
        for a, b in (("shoulder", "elbow"), ("elbow", "wrist"), ("hip", "knee"), ("knee", "ankle")):
            d = positions[:, JOINT_INDEX[f"{side}_{a}"]] - positions[:, JOINT_INDEX[f"{side}_{b}"]]
            d = d[~np.isnan(d).any(axis=1) & (np.abs(d).sum(axis=1) > 0)]
            if len(d) >= fps and _turn_degrees(d) >= MIN_BONE_TURN:  # a second of frames, turning
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


def facing(square: np.ndarray, ears: np.ndarray | None, fps: float) -> Facing | str:
    """Which way the lifter faces, frame by frame, and the cue that told it; or why it cannot be told. ``square``
    (T, 21, D) and ``ears`` (T, 2, D) in square units.

    Where the toes point decides when the feet are tracked (averaged over both feet and about a second,
    as a lifter may turn between sets of a recording but not within a second). A 2D view without toes
    (COCO-17, OpenPose-18) is read from the body, over the same second, by the first cue that is clear
    there (:data:`FACING_CUES`): the nose ahead of the neck, the knees bending forward of the hip-ankle
    line, the hands working in front of the shoulders, the nose and the ears. Where a second straddles a
    turn (or a cut between recordings), its votes split; a shorter window then decides
    (:data:`FACING_WINDOWS`).
    """
    toes = _toes_forward(square, fps)
    if toes is not None:
        return Facing(toes, "toes")
    if square.shape[2] == 3:
        return "facing direction needs ankle and toe joints"
    direction = np.full(square.shape[0], np.nan)
    decided: dict[Cue, int] = {}
    for window in FACING_WINDOWS:
        for cue in FACING_CUES:
            sign = _windowed_sign(_cue_offsets(square, ears, cue), max(1, int(window * fps)))
            new = np.isnan(direction) & ~np.isnan(sign)
            direction[new] = sign[new]
            decided[cue] = decided.get(cue, 0) + int(new.sum())
    if np.isnan(direction).all():
        return ("facing direction cannot be told: no toes, and neither the face, the knees, the hands nor the ears "
                "show it")
    return Facing(direction[:, None], max(decided, key=decided.__getitem__))


def toeless_sides(square: np.ndarray, toes_tracked: bool | None, sides: Mapping[str, str]) -> tuple[Side, ...]:
    """Sides of a 2D view whose layout gives no toe (``toes_tracked``; None: read from the data) and whose ankle is
    tracked. Not a side cleaning hid (``sides``: per limb, the side kept), nor a layout with toes whose toes
    dropped out, nor any side of a 3D skeleton: their missing toe is a dropout, not a gap in the layout."""
    if square.shape[2] == 3 or toes_tracked:
        return ()
    if toes_tracked is None and any(not np.isnan(_track(square, f"{s}_foot")).all() for s in SIDES):
        return ()  # layout unknown: a layout with toes tracks one somewhere in a set
    return tuple(s for s in SIDES if sides.get("leg", "both") in (s, "both")
                 and not np.isnan(_track(square, f"{s}_ankle")).all())


def toe_estimate(square: np.ndarray, facing: Facing | str, fps: float,
                 sides: tuple[Side, ...]) -> dict[str, np.ndarray] | str:
    """Per side of ``sides`` (:func:`toeless_sides`), (T, 2) toe tips placed from the ankle: :data:`FOOT_REACH`
    shank lengths ahead along the ``facing`` direction and :data:`ANKLE_HEIGHT` shank lengths down; or why they
    cannot be placed.

    The shank (knee to ankle) is the tracked segment that scales the foot: it is the foot's neighbour and
    it is seen whole from the side in every lift. Its length in the picture is read around each frame
    (:data:`SCALE_WINDOW`), not once per recording: the lifter's size in the picture changes with the
    camera distance, between sets or people of one recording.
    """
    if isinstance(facing, str):
        return facing
    lengths = {side: np.linalg.norm(_track(square, f"{side}_knee") - _track(square, f"{side}_ankle"), axis=1)
               for side in SIDES}
    if all(np.isnan(length).all() for length in lengths.values()):
        return "the shank (knee to ankle) that scales the foot is not tracked"
    either = np.fmax(*lengths.values())  # one person: where a shank is lost, the other leg's serves
    window = max(1, int(SCALE_WINDOW * fps))
    out: dict[str, np.ndarray] = {}
    for side in sides:
        shank = _rolling_nanmedian(np.where(np.isnan(lengths[side]), either, lengths[side]), window)
        reach = facing.direction[:, 0] * FOOT_REACH * shank
        out[side] = _track(square, f"{side}_ankle") + np.column_stack([reach, -ANKLE_HEIGHT * shank])
    return out


def _toes_forward(square: np.ndarray, fps: float) -> np.ndarray | None:
    pointing = []
    for side in SIDES:
        toes = _track(square, f"{side}_foot") - _track(square, f"{side}_ankle")
        if not np.isnan(toes).all():
            pointing.append(np.delete(toes, 1, axis=-1))
    if not pointing:
        return None
    direction = np.nanmean(np.stack(pointing), axis=0)
    kernel = np.ones(max(1, int(fps)))
    valid = ~np.isnan(direction[:, 0])
    summed = np.stack([np.convolve(np.where(valid, d, 0.0), kernel, "same") for d in direction.T], axis=1)
    norm = np.linalg.norm(summed, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.where(norm > 0, summed / norm, np.nan)
    return None if np.isnan(unit).all() else unit


def _cue_offsets(square: np.ndarray, ears: np.ndarray | None, cue: Cue) -> np.ndarray:
    """(T, k) horizontal offsets, in torso lengths, that point the way the lifter faces where they are
    large (:data:`FACING_MIN_OFFSET`); NaN where a joint is missing."""
    torso = median_torso_length(square)
    if torso is None or torso <= 0 or (cue == "ears" and ears is None):
        return np.full((square.shape[0], 0), np.nan)
    if cue == "ears" and ears is not None:
        pairs = [(_track(square, "head"), ears[:, k]) for k in range(2)]
        pairs += [(ears[:, k], _track(square, "thorax")) for k in range(2)]
    elif cue == "face":
        pairs = [(_track(square, "head"), _track(square, "neck"))]
    elif cue == "knees":
        pairs = [(_track(square, f"{s}_knee"), 0.5 * (_track(square, f"{s}_hip") + _track(square, f"{s}_ankle")))
                 for s in SIDES]
    else:
        pairs = [(_track(square, f"{s}_wrist"), _track(square, f"{s}_shoulder")) for s in SIDES]
    return np.stack([(a - b)[:, 0] / torso for a, b in pairs], axis=1)


def _track(square: np.ndarray, name: str) -> np.ndarray:
    """``name``'s whole track, untracked or not (no abstaining, no toe estimate)."""
    return square[:, JOINT_INDEX[name]]


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
