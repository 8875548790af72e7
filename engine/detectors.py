"""Evaluate the Turtle detectors of an action's penalty rules on one repetition.

A detector reads one feature over the rule's key step, reduces it with its statistic, and compares it
with its threshold. Each rule gives one :class:`Finding`: present, absent, or abstained with the reason
(no detector, 2D data for a depth-dependent feature, a joint or sEMG channel missing). It never guesses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from engine.features import FEATURES, SIDES, Abstain, Recording
from engine.timeline import Span
from kg import Detector, PenaltyRule

Status = Literal["present", "absent", "abstained"]
SIDED = {"shoulder", "elbow", "wrist", "hand", "hip", "knee", "ankle", "foot"}


@dataclass(frozen=True)
class Finding:
    """One rule's verdict on one repetition, with the evidence: measured value vs threshold, and when."""

    rule: PenaltyRule
    status: Status
    span: tuple[float, float]
    value: float | None = None
    side: str | None = None
    reason: str | None = None

    @property
    def present(self) -> bool:
        return self.status == "present"


def evaluate(rule: PenaltyRule, rec: Recording, span: Span) -> Finding:
    """Run ``rule``'s detector over ``span`` of ``rec``."""
    seconds = (span.start / rec.fps, span.stop / rec.fps)
    detector = rule.detector
    if detector is None:
        return Finding(rule, "abstained", seconds, reason="no detector: only the model can see this error")
    feature = FEATURES.get(detector.feature)
    if feature is None:
        return Finding(rule, "abstained", seconds, reason=f"feature {detector.feature} is not implemented")
    if not feature.emg and rec.positions is not None and not rec.is_3d and not feature.valid_in_2d:
        return Finding(rule, "abstained", seconds, reason=f"{detector.feature} needs depth; this skeleton is 2D")
    verdicts = []
    for side, args in _targets(detector, feature.bilateral, feature.emg):
        try:
            verdicts.append((side, *_judge(detector, feature.compute(rec, args, span.as_slice()), rec, span)))
        except Abstain as exc:
            reason = str(exc)
    if not verdicts:
        return Finding(rule, "abstained", seconds, reason=reason)
    side, hit, value, when = max(verdicts, key=lambda v: (v[1], _badness(detector, v[2])))
    return Finding(rule, "present" if hit else "absent", when if hit else seconds, value=value, side=side)


def _targets(detector: Detector, bilateral: bool, emg: bool) -> list[tuple[str | None, object]]:
    """(side, argument) pairs: an unsided joint list is measured on each side of the body."""
    if emg:
        return [(None, detector.muscle)]
    if bilateral and any(j in SIDED for j in detector.joints):
        return [(s, tuple(f"{s}_{j}" if j in SIDED else j for j in detector.joints)) for s in SIDES]
    return [(None, detector.joints)]


def _judge(
    detector: Detector, values: np.ndarray | float, rec: Recording, span: Span
) -> tuple[bool, float, tuple[float, float]]:
    """Whether the error is present, the decisive value, and the seconds over which it held."""
    whole = (span.start / rec.fps, span.stop / rec.fps)
    below = detector.comparator == "LessThan"
    if np.isscalar(values):
        value = float(values)
        return (value < detector.threshold) if below else (value > detector.threshold), value, whole
    series = np.asarray(values, dtype=float)
    if np.isnan(series).all():
        raise Abstain("the feature is undefined over this key step")
    if detector.statistic != "EachFrame":
        value = _reduce(detector.statistic, series, rec, span)
        return (value < detector.threshold) if below else (value > detector.threshold), value, whole
    with np.errstate(invalid="ignore"):
        on = series < detector.threshold if below else series > detector.threshold
    start, length = _longest_run(on)
    value = float(np.nanmin(series) if below else np.nanmax(series))
    need = max(1, int(np.ceil(detector.min_duration * rec.fps)))
    if length < need:
        return False, value, whole
    first = span.start + start
    return True, value, (first / rec.fps, (first + length) / rec.fps)


def _reduce(statistic: str, series: np.ndarray, rec: Recording, span: Span) -> float:
    if statistic == "Minimum":
        return float(np.nanmin(series))
    if statistic == "Maximum":
        return float(np.nanmax(series))
    if statistic == "Range":
        return float(np.nanmax(series) - np.nanmin(series))
    if statistic == "RiseFromStart":
        return float(np.nanmax(series) - series[np.flatnonzero(~np.isnan(series))[0]])
    raise Abstain(f"statistic {statistic} is not implemented")


def _longest_run(mask: np.ndarray) -> tuple[int, int]:
    best, best_start, run, run_start = 0, 0, 0, 0
    for i, flag in enumerate(mask):
        if flag:
            if run == 0:
                run_start = i
            run += 1
            if run > best:
                best, best_start = run, run_start
        else:
            run = 0
    return best_start, best


def _badness(detector: Detector, value: float) -> float:
    return -value if detector.comparator == "LessThan" else value
