"""Evaluate the Turtle detectors of an action's penalty rules on one repetition.

A detector reads one feature over the rule's key step, reduces it with its statistic, and compares it
with its threshold. Each rule gives one :class:`Finding`: present, absent, or abstained with the reason
(no detector, 2D data for a depth-dependent feature, a joint or sEMG channel missing). It never guesses. A rule
without a detector says whether a fault motion is declared for it (the learned scorer can see it) or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

import numpy as np

from flexaqa.clips.layouts import JOINT_INDEX, JOINTS
from flexaqa.engine.features import (
    FEATURES,
    SIDES,
    Abstain,
    EMGMeasure,
    Feature,
    Recording,
    SkeletonMeasure,
    leading_side,
)
from flexaqa.engine.timeline import Span
from flexaqa.kg import Comparator, Detector, KnowledgeGraph, PenaltyRule, ShapeViolation, Statistic

Status = Literal["present", "absent", "abstained"]
NO_DETECTOR = "no detector: only the model can see this error"
"""Why a rule without a detector abstains when its Turtle declares a fault motion: synthetic data labels the
error, so a learned scorer can be trained to see it."""
NO_MODALITY = ("no detector and no fault motion: nothing recorded here shows this error, so neither rules nor model "
               "check it")
"""Why a rule abstains that has neither a detector nor a fault motion: no modality here can show it."""
SIDED_JOINTS = frozenset(j.removeprefix("left_") for j in JOINTS if j.startswith("left_"))
"""Unsided joint names (``knee``) that a bilateral detector reads on each side (``left_knee``, ``right_knee``)."""


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
    try:
        detector, feature = _usable(rule, rec)
        window = slice(span.rep_start, span.stop) if detector.statistic == "RiseFromStart" else span.as_slice()
        verdicts = [(side, *_judge(detector, values, rec, span)) for side, values in measure(detector, feature, rec,
                                                                                              window)]
    except Abstain as exc:
        return Finding(rule, "abstained", seconds, reason=str(exc))
    side, hit, value, when = max(verdicts, key=lambda v: (v[1], _badness(detector, v[2])))
    return Finding(rule, "present" if hit else "absent", when if hit else seconds, value=value, side=side)


def frames_flagged(rule: PenaltyRule, rec: Recording, frames: slice) -> np.ndarray:
    """Frame by frame over ``frames``: does a per-frame (``EachFrame``) detector hold there, inside a run of
    at least its minimum duration? This is what a frame-labelled recording is compared with; ``frames``
    stands for the key step when the minimum is a share of it."""
    detector, feature = _usable(rule, rec)
    if detector.statistic != "EachFrame":
        raise Abstain(f"{rule.id} reduces its feature to one number per key step, not per frame")
    needed = _frames_needed(detector, rec, frames.stop - frames.start)
    masks = [_runs(_holds(detector, np.asarray(values, dtype=float)), needed)
             for _, values in measure(detector, feature, rec, frames)]
    return np.logical_or.reduce(masks)  # measure gives at least one side or abstains


def measure(detector: Detector, feature: Feature, rec: Recording, window: slice
            ) -> list[tuple[str | None, np.ndarray | float]]:
    """The feature on each side the detector looks at: (side, values) pairs."""
    if feature.emg:  # Feature.emg says which kind of measure its compute is
        if detector.muscle is None:
            raise Abstain(f"{detector.feature} reads one muscle's sEMG, and the detector names none")
        return [(None, cast(EMGMeasure, feature.compute)(rec, detector.muscle, window))]
    compute = cast(SkeletonMeasure, feature.compute)
    if not (feature.bilateral and any(j in SIDED_JOINTS for j in detector.joints)):
        return [(None, compute(rec, detector.joints, window))]
    per_side = {}
    reason = "no side can be measured"
    for side in SIDES:
        try:
            names = tuple(f"{side}_{j}" if j in SIDED_JOINTS else j for j in detector.joints)
            per_side[side] = compute(rec, names, window)
        except Abstain as exc:
            reason = str(exc)
    if detector.side_selection == "LeadingSide":
        if len(per_side) < 2:
            raise Abstain(f"the leading side needs both sides: {reason}")
        return [("leading", np.where(leading_side(rec, window), per_side["left"], per_side["right"]))]
    if not per_side:
        raise Abstain(reason)
    return list(per_side.items())


def check_detectors(kg: KnowledgeGraph) -> list[ShapeViolation]:
    """What SHACL cannot see in a detector: a feature the engine lacks, a joint name the skeleton lacks,
    an sEMG muscle outside the action's montage. Pass to ``KnowledgeGraph.load(checks=...)``."""
    problems = []
    for rule in kg.rules.values():
        detector = rule.detector
        if detector is None:
            continue
        where = (f"{rule.id}/detector", rule.source.file, rule.source.line)
        if detector.feature not in FEATURES:
            problems.append((*where, "feature", f"feature {detector.feature} has no implementation in the engine"))
        unknown = [j for j in detector.joints if j not in JOINT_INDEX and f"left_{j}" not in JOINT_INDEX]
        if unknown:
            names = sorted({j.removeprefix("left_").removeprefix("right_") for j in JOINT_INDEX})
            problems.append((*where, "joints", f"unknown joint(s) {', '.join(unknown)}; known: {', '.join(names)}"))
        montage = {c.muscle for c in kg.action(rule.action).emg_channels}
        if detector.muscle is not None and detector.muscle not in montage:
            problems.append((*where, "emgMuscle", f"{detector.muscle} has no sEMG channel in {rule.action}'s montage"))
    return [ShapeViolation(focus=f, path=p, message=m, severity="Violation", file=file, line=line)
            for f, file, line, p, m in problems]


def _usable(rule: PenaltyRule, rec: Recording) -> tuple[Detector, Feature]:
    detector = rule.detector
    if detector is None:
        raise Abstain(NO_DETECTOR if rule.fault_motion else NO_MODALITY)
    feature = FEATURES.get(detector.feature)
    if feature is None:
        raise Abstain(f"feature {detector.feature} is not implemented")
    if not feature.emg and rec.positions is not None and not rec.is_3d and not feature.valid_in_2d:
        raise Abstain(f"{detector.feature} needs depth; this skeleton is 2D")
    return detector, feature


def _holds(detector: Detector, values: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        if detector.comparator == Comparator.LessThan:
            return values < detector.threshold
        return values > detector.threshold


def _frames_needed(detector: Detector, rec: Recording, step_frames: int) -> int:
    """Frames the criterion must hold without a break: the longer of the rule's seconds and its share of the
    ``step_frames`` of the key step."""
    return max(1, int(np.ceil(detector.min_duration * rec.fps)),
               int(np.ceil(detector.min_duration_share * step_frames)))


def _judge(
    detector: Detector, values: np.ndarray | float, rec: Recording, span: Span
) -> tuple[bool, float, tuple[float, float]]:
    """Whether the error is present, the decisive value, and the seconds over which it held."""
    whole = (span.start / rec.fps, span.stop / rec.fps)
    if not isinstance(values, np.ndarray):
        value = float(values)
        return bool(_holds(detector, np.array(value))), value, whole
    series = np.asarray(values, dtype=float)
    if np.isnan(series).all():
        raise Abstain("the feature is undefined over this key step")
    if detector.statistic != "EachFrame":
        value = _reduce(detector.statistic, series, span)
        return bool(_holds(detector, np.array(value))), value, whole
    value = float(np.nanmin(series) if detector.comparator == "LessThan" else np.nanmax(series))
    mask = _runs(_holds(detector, series), _frames_needed(detector, rec, span.stop - span.start))
    if not mask.any():
        return False, value, whole
    on = np.flatnonzero(mask)
    return True, value, ((span.start + on[0]) / rec.fps, (span.start + on[-1] + 1) / rec.fps)


def _reduce(statistic: Statistic, series: np.ndarray, span: Span) -> float:
    """One number for the key step (the load rejects statistics outside :class:`Statistic`)."""
    if statistic == Statistic.Minimum:
        return float(np.nanmin(series))
    if statistic == Statistic.Maximum:
        return float(np.nanmax(series))
    if statistic == Statistic.Range:
        return float(np.nanmax(series) - np.nanmin(series))
    if statistic == Statistic.RiseFromStart:
        inside = series[span.start - span.rep_start:]
        return float(np.nanmax(inside) - series[np.flatnonzero(~np.isnan(series))[0]])
    raise ValueError(f"{statistic} compares frame by frame and has no single value")


def _runs(mask: np.ndarray, minimum: int) -> np.ndarray:
    """Keep only runs of True at least ``minimum`` long."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(int)))
    out = np.zeros_like(mask, dtype=bool)
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        if stop - start >= minimum:
            out[start:stop] = True
    return out


def _badness(detector: Detector, value: float) -> float:
    return -value if detector.comparator == "LessThan" else value
