"""Assess a clip: repetitions -> key-step spans -> Turtle detectors -> score -> coaching.

This is the whole rule-based path; it needs no trained model. A model's error probabilities, when
given, join the same penalty function (``model_probabilities``), so rules and model share one score.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping

import numpy as np

from clips.clip import Clip
from clips.emg import decimation, envelope, normalise, preprocess
from clips.errors import ClipError
from clips.segmentation import Repetition, motion_signal, segment_emg, segment_skeleton
from clips.skeleton import fill_gaps
from engine.coaching import coach
from engine.detectors import Finding, evaluate
from engine.features import Recording
from engine.report import Assessment, CheckSkipped, ErrorFound, RepetitionReport
from engine.scoring import Observation, Score, repetition_score, set_score
from engine.timeline import key_step_spans
from kg import KnowledgeGraph

MIN_CONFIDENCE = 0.5
"""Keypoints a pose estimator is less sure of than this count as missing (short gaps are bridged), so a
detector reads the side it can see instead of the hidden arm behind the body."""


def recording_of(kg: KnowledgeGraph, clip: Clip) -> Recording:
    """What the features read: the gap-filled skeleton and the sEMG envelope mapped onto the montage."""
    positions, fps = None, None
    if clip.skeleton is not None:
        filled, _ = fill_gaps(clip.skeleton, max_gap=max(2, int(0.2 * clip.skeleton.fps)),
                              min_confidence=MIN_CONFIDENCE)
        positions, fps = filled.positions, filled.fps
    env, rate, channels = None, None, None
    if clip.emg is not None:
        montage = kg.action(clip.action).emg_channels
        need = max((c.index for c in montage), default=0)
        if clip.emg.samples.shape[1] < need:
            raise ClipError("emg.samples", f"{clip.emg.samples.shape[1]} channel(s), but the montage of "
                            f"{clip.action} in the knowledge graph has {need} (fkg:emgChannel)")
        if need > 0:
            raw = envelope(preprocess(clip.emg, mains_hz=None))
            channels = {(c.muscle, c.side.lower()): c.index - 1 for c in montage}
            env, rate = normalise(raw, mvc=_pair_peaks(raw.samples, channels)).samples, raw.sampling_rate
        fps = fps or clip.emg.sampling_rate
    if fps is None:
        raise ClipError("clip", "a skeleton or an sEMG recording is needed to assess form (video needs the pose extra)")
    return Recording(positions=positions, fps=fps, envelope=env, emg_rate=rate, channels=channels)


def _pair_peaks(envelope: np.ndarray, channels: dict[tuple[str, str], int]) -> np.ndarray:
    """Per channel, the peak of its muscle's pair: both sides share one reference, so a left/right
    difference survives normalisation (each channel's own peak would erase it)."""
    peaks = envelope.max(axis=0)
    shared = peaks.copy()
    for (muscle, _), column in channels.items():
        pair = [c for (m, _), c in channels.items() if m == muscle]
        shared[column] = peaks[pair].max()
    return np.where(shared > 0, shared, 1.0)


def repetitions_of(kg: KnowledgeGraph, clip: Clip) -> list[Repetition]:
    """Reps found in the motion (or sEMG bursts); a clip with none found is one repetition."""
    eccentric_first = kg.action(clip.action).first_moving_phase == "Eccentric"
    if clip.skeleton is not None:
        reps = segment_skeleton(clip.skeleton, eccentric_first=eccentric_first)
        if reps:
            return reps
        signal = motion_signal(clip.skeleton)
        length = clip.skeleton.frames
    else:
        reps = segment_emg(clip.emg, eccentric_first=eccentric_first)
        if reps:
            return reps
        env = envelope(clip.emg)
        block = decimation(clip.emg, env)
        turn = int(np.argmax(env.samples.mean(axis=1))) * block + block // 2  # sEMG peaks at the effort
        return [_single_rep(clip.emg.samples.shape[0], turn, eccentric_first)]
    turn = int(np.argmin(signal) if eccentric_first else np.argmax(signal))
    return [_single_rep(length, turn, eccentric_first)]


def _single_rep(length: int, turn: int, eccentric_first: bool) -> Repetition:
    turn = min(max(turn, 1), length - 1)
    first, second = ("eccentric", "concentric") if eccentric_first else ("concentric", "eccentric")
    return Repetition.model_validate({"index": 0, "start": 0, "end": length, "turn": turn, "phases": (
        {"name": first, "start": 0, "end": turn}, {"name": second, "start": turn, "end": length})})


def assess(
    kg: KnowledgeGraph,
    clip: Clip,
    lang: str = "en",
    explain: bool = False,
    model_probabilities: Mapping[int, Mapping[str, float]] | None = None,
) -> Assessment:
    """Score every repetition of ``clip`` and coach the set.

    ``model_probabilities`` (repetition number from 1, as in the report -> rule id -> probability in
    [0, 1]) lets a model weigh in on rules whose detectors abstained.
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    action = kg.action(clip.action)
    rec = recording_of(kg, clip)
    reps = repetitions_of(kg, clip)
    timings["segment_ms"] = (time.perf_counter() - clock) * 1000
    clock = time.perf_counter()
    w_max = kg.w_max(action.id)
    rules = kg.rules_of(action.id)
    reports, scores = [], []
    for rep in reps:
        spans = key_step_spans(kg, action.id, rep.start, rep.turn, rep.end)
        findings = [evaluate(rule, rec, spans[rule.key_step]) for rule in rules]
        model = _checked((model_probabilities or {}).get(rep.index + 1, {}), rep.index + 1)
        report, score = _report(kg, rep, rec, findings, model, w_max)
        reports.append(report)
        scores.append(score)
    timings["detect_score_ms"] = (time.perf_counter() - clock) * 1000
    clock = time.perf_counter()
    cues = coach(kg, reports, lang, explain)
    mean, worst = set_score(scores)
    summary = _summary(kg, reports, cues, lang)
    timings["coach_ms"] = (time.perf_counter() - clock) * 1000
    return Assessment(
        action=action.id, action_label=action.label.get(lang, action.label["en"]), lang=lang,
        score=round(mean.expected, 2), score_low=round(mean.low, 2), score_high=round(mean.high, 2),
        w_max=w_max, worst_repetition=reports[worst].index, repetitions=reports, coaching=cues,
        summary=summary, kg_version=kg.version,
        detectors="rule detectors from Turtle" + (" + model" if model_probabilities else ""),
        timings_ms={k: round(v, 3) for k, v in timings.items()},
    )


def _checked(probabilities: Mapping[str, float], number: int) -> Mapping[str, float]:
    for rule, p in probabilities.items():
        if not 0.0 <= float(p) <= 1.0:  # also refuses NaN
            raise ValueError(f"model probability of {rule} in repetition {number} must lie in [0, 1], got {p}")
    return probabilities


def _report(
    kg: KnowledgeGraph, rep: Repetition, rec: Recording, findings: list[Finding],
    model: Mapping[str, float], w_max: float,
) -> tuple[RepetitionReport, Score]:
    observations, errors, skipped = [], [], []
    lost_phase: dict[str, float] = defaultdict(float)
    lost_step: dict[str, float] = defaultdict(float)
    for f in findings:
        rule = f.rule
        if f.status == "abstained" and rule.id in model:
            probability, source, checked = float(model[rule.id]), "model", True
        else:
            probability, source, checked = float(f.present), "rule", f.status != "abstained"
        observations.append(Observation(rule.weight, probability, checked))
        if not checked:
            skipped.append(CheckSkipped(rule=rule.id, error_type=rule.error_type, weight=rule.weight,
                                        reason=f.reason or "not checked"))
            continue
        if probability <= 0:
            continue
        step = kg.key_steps[rule.key_step]
        lost = 100.0 * rule.weight * probability / w_max
        lost_phase[step.phase] += lost
        lost_step[step.id] += lost
        error = kg.error_types[rule.error_type]
        errors.append(ErrorFound(
            error_type=error.id, label=error.label.get("en", error.id), key_step=step.id,
            key_step_label=step.label.get("en", step.id), phase=step.phase, rule=rule.id,
            rule_source=str(rule.source), weight=rule.weight, probability=probability,
            points_lost=round(lost, 3), time_span=(round(f.span[0], 3), round(f.span[1], 3)),
            value=None if f.value is None else round(f.value, 4),
            threshold=rule.detector.threshold if rule.detector else None,
            comparator=rule.detector.comparator if rule.detector else None, side=f.side, source=source,
        ))
    score = repetition_score(w_max, observations)
    report = RepetitionReport(
        index=rep.index + 1, frames=(rep.start, rep.end),
        time_span=(round(rep.start / rec.fps, 3), round(rep.end / rec.fps, 3)),
        score=round(score.expected, 2), score_low=round(score.low, 2), score_high=round(score.high, 2),
        points_checked=round(score.points_checked, 1),
        points_lost_by_phase={k: round(v, 3) for k, v in lost_phase.items()},
        points_lost_by_key_step={k: round(v, 3) for k, v in lost_step.items()},
        errors=sorted(errors, key=lambda e: -e.points_lost), skipped=skipped,
    )
    return report, score


def _summary(kg: KnowledgeGraph, reports: list[RepetitionReport], cues: list, lang: str) -> str:
    parts = [] if cues else [kg.message("MsgClean", lang)]
    unchecked = 100.0 - float(np.mean([r.points_checked for r in reports]))
    if unchecked >= 0.5:
        reasons = sorted({s.reason for r in reports for s in r.skipped})
        parts.append(kg.message("MsgUnchecked", lang, percent=round(unchecked), reason="; ".join(reasons[:3])))
    return " ".join(parts)
