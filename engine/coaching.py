"""Coaching text: one cue per error, ranked by points lost, merged across repetitions, in any language
the Turtle feedback has. The words come from the FKG; this module only orders and joins them."""

from __future__ import annotations

from collections import defaultdict

from flexaqa.engine.report import CoachingCue, RepetitionReport, ViewReport
from flexaqa.kg import KnowledgeGraph

CUE_MESSAGES = {"toes": "MsgCueToes", "face": "MsgCueFace", "knees": "MsgCueKnees", "hands": "MsgCueHands",
                "ears": "MsgCueEars"}
"""The words for each facing cue (``engine.camera.FACING_CUES`` and the toes)."""
LIMB_MESSAGES = {(limb, side): f"MsgView{limb.title()}{side.title()}"
                 for limb in ("arm", "leg") for side in ("left", "right", "both")}
"""The words for the side the rules read per limb (``clips.cleaning.LIMBS``)."""


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


def view_notes(kg: KnowledgeGraph, view: ViewReport, lang: str = "en") -> list[str]:
    """How a 2D view was read, in the lifter's language: which way the lifter faces and the cue that told
    it, the side read per limb and the confidence cut, and whether toe tips were estimated. Every fault
    measured against the facing or the toes rests on these, so the report says them first."""
    if view.facing is None or view.facing_cue is None:  # told together, or neither
        lines = [kg.message("MsgViewFacingUnknown", lang)]
    else:
        lines = [kg.message("MsgViewFacing", lang, side=kg.message(f"MsgPicture{view.facing.title()}", lang),
                            cue=kg.message(CUE_MESSAGES[view.facing_cue], lang))]
    limbs = kg.message("MsgViewListJoin", lang).join(
        kg.message(LIMB_MESSAGES[limb, side], lang) for limb, side in sorted(view.sides.items()))
    if limbs:
        lines.append(kg.message("MsgViewSides", lang, limbs=limbs, cut=view.min_confidence))
    if view.toes_estimated:
        sides = kg.message("MsgViewListJoin", lang).join(_bare(kg.message(f"MsgSide{s.title()}", lang))
                                                         for s in view.toes_estimated)
        lines.append(kg.message("MsgViewToes", lang, sides=sides))
    return lines


def _bare(side: str) -> str:
    """A body side's words (``MsgSideLeft``: " (left side)", "（左侧）") without the brackets and space that
    set them after a fault's name, to sit in a list."""
    return side.strip(" ()（）")
