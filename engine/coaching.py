"""Coaching text: one cue per error, ranked by points lost, merged across repetitions, in any language
the Turtle feedback has. The words come from the FKG; this module only orders and joins them."""

from __future__ import annotations

from collections import defaultdict

from engine.report import CoachingCue, RepetitionReport
from kg import KnowledgeGraph


def rep_ranges(reps: list[int]) -> str:
    """``[1, 3, 4, 5]`` -> ``"1, 3-5"``."""
    ordered = sorted(set(reps))
    runs: list[list[int]] = []
    for r in ordered:
        if runs and r == runs[-1][-1] + 1:
            runs[-1].append(r)
        else:
            runs.append([r])
    return ", ".join(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)


def coach(
    kg: KnowledgeGraph, repetitions: list[RepetitionReport], lang: str = "en", explain: bool = False
) -> list[CoachingCue]:
    """Cues for every error found, heaviest total loss first."""
    by_error: dict[str, list] = defaultdict(list)
    for rep in repetitions:
        for err in rep.errors:
            by_error[err.error_type].append((rep.index, err))
    cues = []
    for error_id, hits in by_error.items():
        reps = sorted({i for i, _ in hits})
        cue, explanation = kg.error_types[error_id].feedback.text(lang)
        if len(reps) == len(repetitions) and len(reps) > 1:
            when = kg.message("MsgEveryRep", lang)
        else:
            when = kg.message("MsgOneRep" if len(reps) == 1 else "MsgSomeReps", lang, reps=rep_ranges(reps))
        cues.append(CoachingCue(
            error_type=error_id,
            text=kg.message("MsgCueLine", lang, when=when, cue=cue),
            cue=cue,
            explanation=explanation if explain else None,
            repetitions=reps,
            points_lost=round(sum(e.points_lost for _, e in hits) / len(repetitions), 2),
            rules=sorted({e.rule_source for _, e in hits}),
        ))
    return sorted(cues, key=lambda c: (-c.points_lost, c.error_type))
