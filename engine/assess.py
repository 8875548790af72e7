"""Assess a clip: repetitions -> key-step spans -> Turtle detectors -> score -> coaching.

This is the whole rule-based path; it needs no trained model. A model's findings, when given, join the
same penalty function for the rules whose detectors abstained, so rules and model share one score. A clip is
assessed as given or as already prepared (:class:`engine.prepared.Prepared`, shared with the model and the
report page, so it is cleaned and cut once).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from flexaqa.clips.clip import Clip
from flexaqa.clips.segmentation import Repetition
from flexaqa.engine.coaching import coach, view_notes
from flexaqa.engine.detectors import Finding, evaluate
from flexaqa.engine.evidence import ModelFinding
from flexaqa.engine.features import Recording
from flexaqa.engine.prepared import Prepared, as_prepared, clean_skeleton, prepare, recording_of
from flexaqa.engine.report import Assessment, CheckSkipped, ErrorFound, FindingSource, RepetitionReport
from flexaqa.engine.scoring import Observation, Score, repetition_score, set_score
from flexaqa.kg import KnowledgeGraph, in_language

__all__ = ["Prepared", "assess", "assess_in_languages", "clean_skeleton", "prepare", "recording_of"]
"""The engine's front door: preparing a clip (:mod:`engine.prepared`) is part of assessing it."""


def assess(
    kg: KnowledgeGraph,
    clip: Clip | Prepared,
    lang: str = "en",
    explain: bool = False,
    model_findings: Sequence[ModelFinding] = (),
    assumed_fps: float | None = None,
    min_confidence: float | None = None,
) -> Assessment:
    """Score every repetition of ``clip`` and coach the set; ``model_findings`` weigh in on the rules whose
    detectors abstained. ``assumed_fps`` is a frame rate the file did not carry, stated in the report's notes
    because every time span rests on it. ``min_confidence`` overrides the skeleton layout's keypoint cut (of a
    clip not yet prepared)."""
    return assess_in_languages(kg, clip, (lang,), explain, model_findings, assumed_fps, min_confidence)[lang]


def assess_in_languages(
    kg: KnowledgeGraph,
    clip: Clip | Prepared,
    languages: Sequence[str],
    explain: bool = False,
    model_findings: Sequence[ModelFinding] = (),
    assumed_fps: float | None = None,
    min_confidence: float | None = None,
) -> dict[str, Assessment]:
    """:func:`assess` worded in each of ``languages``: the clip is cut and every detector run once, and only
    the words differ (the report page carries every language)."""
    timings: dict[str, float] = {}
    prepared = as_prepared(kg, clip, min_confidence)
    clock = time.perf_counter()
    action = kg.action(prepared.clip.action)
    rec, view = prepared.recording, prepared.view
    model = _by_repetition(model_findings, set(action.rules), len(prepared.repetitions))
    timings["segment_ms"] = prepared.prepare_ms + (time.perf_counter() - clock) * 1000
    clock = time.perf_counter()
    w_max = kg.w_max(action.id)
    rules = kg.rules_of(action.id)
    measured = [(rep, [evaluate(rule, rec, spans[rule.key_step]) for rule in rules])
                for rep, spans in zip(prepared.repetitions, prepared.spans, strict=True)]
    timings["detect_score_ms"] = (time.perf_counter() - clock) * 1000
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
        source: FindingSource
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
