"""Assess a clip: repetitions -> key-step spans -> Turtle detectors -> score -> coaching.

This is the whole rule-based path; it needs no trained model. A model's findings, when given, join the
same penalty function for the rules whose detectors abstained, so rules and model share one score.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from flexaqa.clips.cleaning import clean_keypoints
from flexaqa.clips.clip import Clip
from flexaqa.clips.emg import envelope, normalise, pair_references, preprocess
from flexaqa.clips.errors import ClipError
from flexaqa.clips.layouts import get_layout, is_camera
from flexaqa.clips.segmentation import Repetition, repetitions
from flexaqa.clips.skeleton import Skeleton, fill_gaps
from flexaqa.engine.coaching import coach, view_notes
from flexaqa.engine.detectors import Finding, evaluate
from flexaqa.engine.evidence import ModelFinding
from flexaqa.engine.features import Recording
from flexaqa.engine.report import Assessment, CheckSkipped, ErrorFound, RepetitionReport, ViewReport
from flexaqa.engine.scoring import Observation, Score, repetition_score, set_score
from flexaqa.engine.timeline import key_step_spans
from flexaqa.kg import KnowledgeGraph, in_language


def clean_skeleton(skeleton: Skeleton, min_confidence: float | None = None) -> tuple[Skeleton, dict[str, str]]:
    """The skeleton the rules and the segmentation read, and the side kept per limb: a pose detector's
    keypoints cleaned (``clips.cleaning``; ``min_confidence`` overrides the layout's), others gap-filled."""
    if is_camera(skeleton.layout) or min_confidence is not None:
        cleaned = clean_keypoints(skeleton, min_confidence)
        return cleaned.skeleton, dict(cleaned.sides)
    filled, _ = fill_gaps(skeleton, max_gap=max(2, int(0.2 * skeleton.fps)))
    return filled, {}


def recording_of(kg: KnowledgeGraph, clip: Clip, skeleton: Skeleton | None = None,
                 sides: Mapping[str, str] | None = None) -> Recording:
    """What the features read: the cleaned ``skeleton`` (see :func:`clean_skeleton`; cleaned here when not
    given) and the sEMG envelope mapped onto the montage."""
    positions, fps, ears, toes = None, None, None, None
    if skeleton is None and clip.skeleton is not None:
        skeleton, sides = clean_skeleton(clip.skeleton)
    if skeleton is not None:
        positions, fps, ears = skeleton.positions, skeleton.fps, skeleton.ears
        toes = get_layout(skeleton.layout).tracks_toes
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
            env, rate = normalise(raw, mvc=pair_references(raw, channels)).samples, raw.sampling_rate
        fps = fps or clip.emg.sampling_rate
    if fps is None:
        raise ClipError("clip", "a skeleton or an sEMG recording is needed to assess form (video needs the pose extra)")
    return Recording(positions=positions, fps=fps, envelope=env, emg_rate=rate, channels=channels,
                     sides=dict(sides or {}), ears=ears, toes_tracked=toes)


def prepare(kg: KnowledgeGraph, clip: Clip, min_confidence: float | None = None
            ) -> tuple[Skeleton | None, Recording, list[Repetition]]:
    """The clip as every reader of it sees it (the rules, the model, the report page): the cleaned skeleton,
    the recording the features read, and the repetitions cut once, from that cleaned skeleton."""
    action = kg.action(clip.action)
    skeleton, sides = clean_skeleton(clip.skeleton, min_confidence) if clip.skeleton is not None else (None, {})
    rec = recording_of(kg, clip, skeleton, sides)
    return skeleton, rec, repetitions(skeleton, clip.emg, action.first_moving_phase == "Eccentric")


def assess(
    kg: KnowledgeGraph,
    clip: Clip,
    lang: str = "en",
    explain: bool = False,
    model_findings: Sequence[ModelFinding] = (),
    assumed_fps: float | None = None,
    min_confidence: float | None = None,
) -> Assessment:
    """Score every repetition of ``clip`` and coach the set; ``model_findings`` weigh in on the rules whose
    detectors abstained. ``assumed_fps`` is a frame rate the file did not carry, stated in the report's notes
    because every time span rests on it. ``min_confidence`` overrides the skeleton layout's keypoint cut."""
    return assess_in_languages(kg, clip, (lang,), explain, model_findings, assumed_fps, min_confidence)[lang]


def assess_in_languages(
    kg: KnowledgeGraph,
    clip: Clip,
    languages: Sequence[str],
    explain: bool = False,
    model_findings: Sequence[ModelFinding] = (),
    assumed_fps: float | None = None,
    min_confidence: float | None = None,
) -> dict[str, Assessment]:
    """:func:`assess` worded in each of ``languages``: the clip is cut and every detector run once, and only
    the words differ (the report page carries every language)."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    action = kg.action(clip.action)
    skeleton, rec, reps = prepare(kg, clip, min_confidence)
    model = _by_repetition(model_findings, set(action.rules), len(reps))
    timings["segment_ms"] = (time.perf_counter() - clock) * 1000
    clock = time.perf_counter()
    w_max = kg.w_max(action.id)
    rules = kg.rules_of(action.id)
    measured = []
    for rep in reps:
        spans = key_step_spans(kg, action.id, rep.start, rep.turn, rep.end)
        measured.append((rep, [evaluate(rule, rec, spans[rule.key_step]) for rule in rules]))
    timings["detect_score_ms"] = (time.perf_counter() - clock) * 1000
    view = None if skeleton is None or skeleton.is_3d else _view(rec, skeleton, min_confidence)
    worded = {}
    for lang in languages:
        clock = time.perf_counter()
        reports, scores = [], []
        for rep, findings in measured:
            report, score = _report(kg, rep, rec, findings, model.get(rep.index + 1, {}), w_max, lang)
            reports.append(report)
            scores.append(score)
        cues = coach(kg, reports, lang, explain)
        mean, worst = set_score(scores)
        summary = _summary(kg, reports, cues, lang)
        timings["coach_ms"] = (time.perf_counter() - clock) * 1000
        notes = [] if assumed_fps is None else [kg.message("MsgAssumedFps", lang, fps=assumed_fps)]
        worded[lang] = Assessment(
            action=action.id, action_label=in_language(action.label, lang), lang=lang,
            score=round(mean.expected, 2), score_low=round(mean.low, 2), score_high=round(mean.high, 2),
            w_max=w_max, worst_repetition=reports[worst].index, repetitions=reports, coaching=cues,
            summary=summary, kg_version=kg.version,
            detectors="rule detectors from Turtle" + "".join(sorted({f" + {f.source}" for f in model_findings})),
            timings_ms={k: round(v, 3) for k, v in timings.items()},
            notes=notes + ([] if view is None else view_notes(kg, view, lang)), view=view,
        )
    return worded


def _view(rec: Recording, skeleton: Skeleton, min_confidence: float | None) -> ViewReport:
    """How a 2D view was read: which way the lifter faces and the cue that told it, the side kept per limb."""
    facing = rec.facing
    told = not isinstance(facing, str)
    return ViewReport(
        facing=facing.image_side() if told else None, facing_cue=facing.cue if told else None,
        facing_reason=None if told else facing, sides=rec.sides,
        min_confidence=get_layout(skeleton.layout).min_confidence if min_confidence is None else min_confidence,
        toes_estimated=list(rec.estimated_toes), x_scale=round(rec.x_scale, 3),
        x_scale_unknown=rec.x_scale_unknown,
    )


def _by_repetition(findings: Sequence[ModelFinding], rules: set[str], count: int
                   ) -> dict[int, dict[str, ModelFinding]]:
    out: dict[int, dict[str, ModelFinding]] = defaultdict(dict)
    for f in findings:
        if f.rule not in rules:
            raise ValueError(f"model finding for {f.rule}, which is not a rule of this action")
        if f.repetition > count:
            raise ValueError(f"model finding for repetition {f.repetition}, but the clip has {count}")
        out[f.repetition][f.rule] = f
    return out


def _report(
    kg: KnowledgeGraph, rep: Repetition, rec: Recording, findings: list[Finding],
    model: Mapping[str, ModelFinding], w_max: float, lang: str,
) -> tuple[RepetitionReport, Score]:
    observations, errors, skipped = [], [], []
    lost_phase: dict[str, float] = defaultdict(float)
    lost_step: dict[str, float] = defaultdict(float)
    for f in findings:
        rule = f.rule
        span = f.span
        if f.status == "abstained" and rule.id in model:
            probability, source, checked = model[rule.id].probability, "model", True
            span = model[rule.id].time_span or span
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
        if source == "model" and probability < model[rule.id].threshold:
            continue  # the model doubts it: it costs its expected points but is not named as found
        error = kg.error_types[rule.error_type]
        errors.append(ErrorFound(
            error_type=error.id, label=in_language(error.label, lang, error.id), key_step=step.id,
            key_step_label=in_language(step.label, lang, step.id), phase=step.phase, rule=rule.id,
            rule_source=str(rule.source), weight=rule.weight, probability=probability,
            points_lost=round(lost, 3), time_span=(round(span[0], 3), round(span[1], 3)),
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
        reasons = sorted({kg.message(_why_skipped(kg, s), lang) for r in reports for s in r.skipped})
        parts.append(kg.message("MsgUnchecked", lang, percent=round(unchecked), reason="; ".join(reasons[:3])))
    return " ".join(parts)


def _why_skipped(kg: KnowledgeGraph, skipped: CheckSkipped) -> str:
    """The message that names, in the lifter's words, what kind of gap kept a rule unchecked: read from the
    rule's detector, so the summary is the same in every language (the exact reason stays in the report)."""
    detector = kg.rules[skipped.rule].detector
    if detector is None:  # a declared fault motion means the learned scorer was taught to see it
        return "MsgWhyNoDetector" if kg.rules[skipped.rule].fault_motion else "MsgWhyNoModality"
    return "MsgWhyNoSemg" if detector.muscle is not None else "MsgWhyNoJoints"
