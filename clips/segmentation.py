"""Split a whole set into repetitions from the motion (or, without a skeleton, from EMG bursts).

Free weights are lifted against gravity, so the load goes down in the eccentric phase and up in the
concentric one. With y up (the internal convention) the motion signal is oriented so that it rises when
the moving joints rise; a rep's turning point is a valley of that signal when the eccentric phase comes
first (the load starts high and is lowered) and a peak when the concentric phase does (it starts low).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator
from scipy import signal
from scipy.ndimage import maximum_filter1d, minimum_filter1d

from flexaqa.clips.emg import EMG, decimation, envelope
from flexaqa.clips.errors import ClipError
from flexaqa.clips.skeleton import Skeleton

LOCAL_RANGE_FLOOR = 0.5

PhaseName = Literal["eccentric", "concentric"]


class Phase(BaseModel):
    """One phase of a rep over frames (or samples) [start, end)."""

    model_config = ConfigDict(frozen=True)

    name: PhaseName
    start: int
    end: int


class Repetition(BaseModel):
    """One rep over [start, end), turning at ``turn``; ``phases`` are the two halves in time order."""

    model_config = ConfigDict(frozen=True)

    index: int
    start: int
    end: int
    turn: int
    phases: tuple[Phase, Phase]

    @model_validator(mode="after")
    def _ordered(self) -> Repetition:
        if not self.start <= self.turn <= self.end:
            raise ValueError(f"need start <= turn <= end, got {self.start}, {self.turn}, {self.end}")
        return self


def motion_signal(skeleton: Skeleton) -> np.ndarray:
    """(T,) first principal component of the joints' heights (y), signed to rise when the joints rise.

    Only heights: the load moves vertically, and horizontal shifts (a camera pan, a step) are noise here.
    Joints missing in more than half the frames are dropped; other gaps are interpolated.
    """
    heights = skeleton.positions[:, :, 1]
    present = np.isnan(heights).mean(axis=0) <= 0.5
    if not present.any():
        raise ClipError("skeleton.positions", "every joint is missing in most frames, no motion to segment")
    frames = np.arange(skeleton.frames)
    columns = []
    for j in np.flatnonzero(present):
        valid = ~np.isnan(heights[:, j])
        columns.append(np.interp(frames, frames[valid], heights[valid, j]))
    traj = np.stack(columns, axis=1)
    traj -= traj.mean(axis=0)
    if not np.abs(traj).max() > 0:
        return np.zeros(skeleton.frames)
    _, vectors = np.linalg.eigh(traj.T @ traj)  # the joints' small covariance, not a T x J SVD
    first = vectors[:, -1]
    loading = first if first.sum() >= 0 else -first
    return traj @ loading


def _odd(n: float, minimum: int = 3) -> int:
    n = max(minimum, int(round(n)))
    return n if n % 2 else n + 1


def find_repetitions(
    turns_up: np.ndarray,
    rate: float,
    eccentric_first: bool = True,
    min_rep_s: float = 1.0,
    prominence: float = 0.3,
    rest_fraction: float = 0.1,
    min_prominence: float = 0.0,
) -> list[Repetition]:
    """Reps in a 1D signal sampled at ``rate`` Hz whose peaks are the turning points.

    Peaks need a prominence >= ``prominence`` x the signal's range over the surrounding four minimum
    rep lengths (floored at half the whole signal's 5-95 % range, so a rest does not turn noise into
    reps) and lie at least ``min_rep_s`` apart; the local range keeps reps filmed from farther away, or
    done with a shorter range of motion, from being lost beside a few large ones. A rep runs from where
    the signal leaves its rest level (within ``rest_fraction`` of the excursion) to where it returns.
    ``min_prominence`` is an absolute floor in the signal's units, so a still signal yields no reps.
    """
    if not 0 < prominence <= 1:
        raise ClipError("prominence", f"must lie in (0, 1], got {prominence}")
    if min_rep_s <= 0:
        raise ClipError("min_rep_s", f"must be > 0, got {min_rep_s}")
    u = np.asarray(turns_up, dtype=float)
    low, high = np.percentile(u, [5, 95])
    if not high > low:
        return []
    distance = max(1, int(round(min_rep_s * rate)))
    window = 4 * distance + 1
    local = maximum_filter1d(u, window) - minimum_filter1d(u, window)
    floor = np.maximum(local, LOCAL_RANGE_FLOOR * (high - low))
    threshold = np.maximum(prominence * floor, min_prominence)
    peaks, _ = signal.find_peaks(u, prominence=threshold, distance=distance)
    bounds = [
        0,
        *(p + int(np.argmin(u[p:q])) for p, q in zip(peaks[:-1], peaks[1:], strict=True)),
        u.size - 1,
    ]
    reps = []
    for i, turn in enumerate(peaks):
        lo, hi = bounds[i], bounds[i + 1]
        start = _leave_rest(u[lo : turn + 1], rest_fraction) + lo
        end = turn + u[turn : hi + 1].size - 1 - _leave_rest(u[turn : hi + 1][::-1], rest_fraction)
        order: tuple[PhaseName, PhaseName] = (
            ("eccentric", "concentric") if eccentric_first else ("concentric", "eccentric"))
        first, second = order
        phases = (Phase(name=first, start=start, end=turn), Phase(name=second, start=turn, end=end + 1))
        reps.append(Repetition(index=i, start=start, end=end + 1, turn=int(turn), phases=phases))
    return reps


def _leave_rest(rise: np.ndarray, rest_fraction: float) -> int:
    """Index where a rising stretch (ending at its peak) last sits within ``rest_fraction`` of its floor."""
    floor = rise.min()
    near_rest = np.flatnonzero(rise <= floor + rest_fraction * (rise[-1] - floor))
    return int(near_rest[-1]) if near_rest.size else 0


def segment_skeleton(
    skeleton: Skeleton,
    eccentric_first: bool = True,
    min_rep_s: float = 1.0,
    prominence: float = 0.3,
    smooth_s: float = 0.25,
    min_excursion: float = 0.05,
) -> list[Repetition]:
    """Reps of a whole set from motion: frames of ``skeleton``; see the module note on direction.

    The motion signal is median-filtered (drops single-frame keypoint jumps), then Savitzky-Golay smoothed.
    A rep must move by at least ``min_excursion`` of the body's visible height (median over frames).
    """
    raw = motion_signal(skeleton)
    heights = skeleton.positions[:, :, 1]
    with np.errstate(invalid="ignore"):
        extent = np.nanmedian(np.nanmax(heights, axis=1) - np.nanmin(heights, axis=1))
    window = _odd(smooth_s * skeleton.fps, minimum=5)
    if raw.size < window:
        return []
    smooth = signal.savgol_filter(signal.medfilt(raw, _odd(window / 2)), window, polyorder=2)
    turns_up = -smooth if eccentric_first else smooth
    return find_repetitions(
        turns_up, skeleton.fps, eccentric_first, min_rep_s, prominence, min_prominence=min_excursion * extent
    )


def segment_emg(
    emg: EMG,
    eccentric_first: bool = True,
    min_rep_s: float = 1.0,
    prominence: float = 0.3,
    cutoff_hz: float = 2.0,
    min_burst: float = 0.25,
) -> list[Repetition]:
    """Reps from EMG bursts (samples of ``emg``, band-passed: see ``emg.preprocess``), without a skeleton.

    Each burst's activation peak stands in for the turning point, which EMG cannot see: an approximation.
    The signal is the mean over channels of a ``cutoff_hz`` envelope of each channel's own-peak share;
    a burst must stand ``min_burst`` of that peak above its surroundings. Reps are found on the envelope's
    lower rate and returned in samples of ``emg``.
    """
    env = envelope(emg, cutoff_hz=cutoff_hz)
    peak = env.samples.max(axis=0)
    activity = (env.samples[:, peak > 0] / peak[peak > 0]).mean(axis=1) if (peak > 0).any() else env.samples[:, 0]
    reps = find_repetitions(
        activity, env.sampling_rate, eccentric_first, min_rep_s, prominence, min_prominence=min_burst
    )
    return [_in_recording_samples(rep, decimation(emg, env)) for rep in reps]


def _in_recording_samples(rep: Repetition, block: int) -> Repetition:
    """A rep found on an envelope, in samples of the recording: bounds at block edges, the turn at the
    centre of its block."""
    turn = min(rep.turn * block + block // 2, rep.end * block)
    first, second = ({"name": p.name, "start": p.start * block, "end": p.end * block} for p in rep.phases)
    first["end"] = second["start"] = turn
    return Repetition.model_validate({"index": rep.index, "start": rep.start * block, "end": rep.end * block,
                                      "turn": turn, "phases": (first, second)})


MIN_REPETITION_S = 0.3
"""No loaded repetition is shorter than this (a fast curl takes about a second): a shorter clip holds none."""


def repetitions(skeleton: Skeleton | None, emg: EMG | None, eccentric_first: bool = True,
                min_excursion: float = 0.05, min_swing: float = 0.1) -> list[Repetition]:
    """The repetitions of a clip: from the motion when it has a skeleton (frames), else from sEMG bursts
    (recording samples).

    A clip that holds one movement too short to cut as a set is one repetition turning at its extreme
    (the lowest point when the eccentric phase comes first) or, from sEMG alone, at the activity peak.
    A clip without movement (joints moving under ``min_excursion`` of body height, or sEMG activity
    swinging under ``min_swing`` of its peak) or shorter than :data:`MIN_REPETITION_S` is an error:
    there is nothing to score.
    """
    if skeleton is not None:
        if skeleton.frames < MIN_REPETITION_S * skeleton.fps:
            raise ClipError("skeleton.positions", f"{skeleton.frames} frames at {skeleton.fps:g} fps last under "
                            f"{MIN_REPETITION_S} s: too short to hold a repetition")
        reps = segment_skeleton(skeleton, eccentric_first=eccentric_first, min_excursion=min_excursion)
        if reps:
            return reps
        signal_ = motion_signal(skeleton)
        heights = skeleton.positions[:, :, 1]
        with np.errstate(invalid="ignore"):
            extent = float(np.nanmedian(np.nanmax(heights, axis=1) - np.nanmin(heights, axis=1)))
        if not np.ptp(signal_) >= min_excursion * extent:
            raise ClipError("skeleton.positions", f"no repetition found: the joints move less than "
                            f"{min_excursion:.0%} of the body's height")
        turn = int(np.argmin(signal_) if eccentric_first else np.argmax(signal_))
        return [_single_rep(skeleton.frames, turn, eccentric_first)]
    if emg is None:
        raise ClipError("clip", "a skeleton or an sEMG recording is needed to find repetitions")
    if emg.samples.shape[0] < MIN_REPETITION_S * emg.sampling_rate:
        raise ClipError("emg.samples", f"{emg.samples.shape[0]} samples at {emg.sampling_rate:g} Hz last under "
                        f"{MIN_REPETITION_S} s: too short to hold a repetition")
    reps = segment_emg(emg, eccentric_first=eccentric_first)
    if reps:
        return reps
    env = envelope(emg)
    activity = env.samples.mean(axis=1)
    if not activity.max() > 0 or np.ptp(activity) < min_swing * activity.max():
        raise ClipError("emg.samples", "no repetition found: the sEMG activity never rises above its resting level")
    block = decimation(emg, env)
    turn = int(np.argmax(activity)) * block + block // 2  # sEMG peaks at the effort
    return [_single_rep(emg.samples.shape[0], turn, eccentric_first)]


def _single_rep(length: int, turn: int, eccentric_first: bool) -> Repetition:
    turn = min(max(turn, 1), length - 1)
    first, second = ("eccentric", "concentric") if eccentric_first else ("concentric", "eccentric")
    return Repetition.model_validate({"index": 0, "start": 0, "end": length, "turn": turn, "phases": (
        {"name": first, "start": 0, "end": turn}, {"name": second, "start": turn, "end": length})})
