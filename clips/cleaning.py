"""Clean a pose detector's 2D keypoints before anything is judged on them.

Detectors on a phone video make three kinds of mistake that rules read as faults: a point that jumps (to
the image border, to the other arm, to a shadow) for a frame or two, jitter, and the limb hidden behind
the body guessed at low confidence. :func:`clean_keypoints` drops points below the layout's confidence,
rejects jumps (an implausible speed or a bone that grows), smooths what is left with the confidence as
weight, bridges short gaps, and keeps per limb the side the camera sees best, for the whole set.
"""

from __future__ import annotations

import logging
import warnings
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import BaseModel, ConfigDict
from scipy.ndimage import gaussian_filter1d

from flexaqa.clips.errors import ClipError
from flexaqa.clips.layouts import JOINT_INDEX, get_layout
from flexaqa.clips.skeleton import Skeleton, fill_gaps, median_torso_length

logger = logging.getLogger(__name__)

MAX_SPEED = 10.0
"""Torso lengths per second a keypoint may move (~5 m/s for a 0.5 m torso): more than twice the peak bar
speed of a snatch (~2 m/s; velocity-based-training literature) and above any hand speed in a controlled
lift. Chosen from that, not fitted; a point faster than this away from its neighbours is a detector jump."""
JUMP_WINDOW = 2
"""Frames on each side whose median a point is compared with (a Hampel-style running median)."""
MAX_BONE_GROWTH = 1.5
"""A 2D bone shows at most its true length, and its 90th percentile over a set is close to that (the limb
crosses the image plane at some point of a lift): a bone longer than 1.5x that in a frame has a misplaced
end (its distal point is dropped). The percentile, not the median, so that a limb foreshortened for most
of a set (a curl filmed from the front) is not cut whenever it straightens."""
SMOOTHING_CUTOFF_HZ = 6.0
"""Low-pass cut-off for keypoint tracks: 6 Hz, the usual choice for human-movement kinematics (Winter,
Biomechanics and Motor Control of Human Movement, 4th ed., ch. 2), kept by a Gaussian whose -3 dB point
is there (sigma = 0.1325 / cut-off seconds)."""
MAX_GAP_SECONDS = 0.2
"""Gaps up to this long are bridged linearly (a blink of the detector, shorter than any key step)."""
HIDDEN_SIDE_RATIO = 0.5
"""A limb whose mean confidence over the set is under half the other side's is taken as hidden behind
the body (side view) and left out, so detectors read the limb the camera sees, the same one every rep."""
BONES = (("shoulder", "elbow"), ("elbow", "wrist"), ("wrist", "hand"), ("hip", "knee"), ("knee", "ankle"),
         ("ankle", "foot"))
LIMBS: dict[str, tuple[str, ...]] = {"arm": ("elbow", "wrist", "hand"), "leg": ("knee", "ankle", "foot")}
"""The distal joints of each limb that side selection keeps or drops together (shoulders and hips stay: the
trunk points are built from both)."""

SideUsed = Literal["left", "right", "both"]


class CleanedKeypoints(BaseModel):
    """A cleaned skeleton, the side kept per limb (only for limbs that were tracked), and how many points
    were dropped as jumps."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    skeleton: Skeleton
    sides: dict[str, SideUsed]
    jumps_rejected: int


def clean_keypoints(skeleton: Skeleton, min_confidence: float | None = None) -> CleanedKeypoints:
    """Clean ``skeleton`` (any layout; the confidence steps apply when it has one). ``min_confidence``
    defaults to the layout's (:attr:`clips.layouts.Layout.min_confidence`)."""
    threshold = get_layout(skeleton.layout).min_confidence if min_confidence is None else min_confidence
    positions = np.array(skeleton.positions)
    weight = _cut(positions, skeleton.confidence, threshold)
    if skeleton.confidence is not None:
        if np.isnan(positions).all():
            raise ClipError("skeleton.confidence", f"no keypoint reaches the minimum confidence {threshold:g} of "
                            f"{skeleton.layout}; is this the detector's score? (lower it with --min-confidence)")
    torso = median_torso_length(positions)
    jumps = 0
    if torso:
        jumps = _reject_jumps(positions, MAX_SPEED * torso * JUMP_WINDOW / skeleton.fps)
        jumps += _reject_grown_bones(positions)
    sides = _hide_unseen_limbs(positions, weight)
    positions = _smooth(positions, weight, SMOOTHING_CUTOFF_HZ, skeleton.fps)
    cleaned = skeleton.replace(positions=positions, ears=_clean_ears(skeleton, threshold, torso))
    filled, _ = fill_gaps(cleaned, max_gap=max(2, int(MAX_GAP_SECONDS * skeleton.fps)))
    if jumps:
        logger.debug("dropped %d keypoint jumps", jumps)
    return CleanedKeypoints(skeleton=filled, sides=sides, jumps_rejected=jumps)


def _clean_ears(skeleton: Skeleton, threshold: float, torso: float | None) -> np.ndarray | None:
    """The ears as the joints are cleaned: cut at the confidence, jumps dropped, smoothed (not bridged: the
    facing reads them over a second and skips what is missing)."""
    if skeleton.ears is None:
        return None
    ears = np.array(skeleton.ears)
    weight = _cut(ears, skeleton.ear_confidence, threshold)
    if torso:
        _reject_jumps(ears, MAX_SPEED * torso * JUMP_WINDOW / skeleton.fps)
    return _smooth(ears, weight, SMOOTHING_CUTOFF_HZ, skeleton.fps)


def _cut(points: np.ndarray, confidence: np.ndarray | None, threshold: float) -> np.ndarray:
    """Set to NaN, in place, the (T, J, D) ``points`` scored under ``threshold``; return the (T, J) weights the
    smoothing gives them (the confidence, unknown as 0; all 1 without a confidence)."""
    if confidence is None:
        return np.ones(points.shape[:2])
    weight = np.nan_to_num(confidence)
    points[weight < threshold] = np.nan
    return weight


def _reject_jumps(positions: np.ndarray, limit: float) -> int:
    """Set to NaN, in place, points farther than ``limit`` from the median of their joint's neighbouring
    frames (the median ignores the jump itself, so the frames after it are not blamed); returns how many."""
    frames = positions.shape[0]
    if frames < 2 * JUMP_WINDOW + 1:
        return 0
    padded = np.pad(positions, ((JUMP_WINDOW, JUMP_WINDOW), (0, 0), (0, 0)), mode="edge")
    windows = sliding_window_view(padded, 2 * JUMP_WINDOW + 1, axis=0)  # (T, J, D, window)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a joint missing around a frame is expected here
        centre = np.nanmedian(windows, axis=-1)
        far = np.linalg.norm(positions - centre, axis=2) > limit
    positions[far] = np.nan
    return int(far.sum())


def _reject_grown_bones(positions: np.ndarray) -> int:
    """Drop, in place, the distal end of a bone longer than :data:`MAX_BONE_GROWTH` times its usual length."""
    dropped = 0
    for side in ("left", "right"):
        for near, far in BONES:
            a, b = JOINT_INDEX[f"{side}_{near}"], JOINT_INDEX[f"{side}_{far}"]
            length = np.linalg.norm(positions[:, b] - positions[:, a], axis=1)
            if np.isnan(length).all():
                continue
            with np.errstate(invalid="ignore"):
                grown = length > MAX_BONE_GROWTH * np.nanpercentile(length, 90)
            positions[grown, b] = np.nan
            dropped += int(grown.sum())
    return dropped


def _hide_unseen_limbs(positions: np.ndarray, weight: np.ndarray) -> dict[str, SideUsed]:
    """Per limb, drop (in place) the side seen much worse than the other; say which side is kept."""
    sides: dict[str, SideUsed] = {}
    for limb, joints in LIMBS.items():
        seen = {}
        for side in ("left", "right"):
            columns = [JOINT_INDEX[f"{side}_{j}"] for j in joints]
            tracked = ~np.isnan(positions[:, columns, 0])
            seen[side] = float(np.where(tracked, weight[:, columns], 0.0).mean())
        best = max(seen, key=seen.__getitem__)
        if seen[best] == 0:
            continue
        other = "left" if best == "right" else "right"
        if seen[other] < HIDDEN_SIDE_RATIO * seen[best]:
            positions[:, [JOINT_INDEX[f"{other}_{j}"] for j in joints]] = np.nan
            sides[limb] = best  # type: ignore[assignment]
        else:
            sides[limb] = "both"
    return sides


def _smooth(positions: np.ndarray, weight: np.ndarray, cutoff_hz: float, fps: float) -> np.ndarray:
    """Confidence-weighted Gaussian smoothing (normalised convolution): each point becomes the weighted mean
    of its neighbours, a missing one weighing nothing; points missing before stay missing."""
    sigma = 0.1325 / cutoff_hz * fps
    if sigma < 0.3:  # the kernel would be a single frame
        return positions
    valid = ~np.isnan(positions[:, :, 0])
    w = np.where(valid, np.maximum(weight, 1e-3), 0.0)
    norm = gaussian_filter1d(w, sigma, axis=0, mode="nearest")
    out = np.full_like(positions, np.nan)
    for axis in range(positions.shape[2]):
        summed = gaussian_filter1d(np.where(valid, positions[:, :, axis], 0.0) * w, sigma, axis=0, mode="nearest")
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, :, axis] = np.where(valid, summed / norm, np.nan)
    return out

