"""Where each key step lies in time inside one repetition.

A repetition is cut at its turning point into the action's two moving phases (which comes first is the
action's ``fkg:firstMovingPhase``). Preparation is the opening stretch of the repetition, before the
load has travelled far. Key steps of one phase share its span in their ``orderInPhase`` order.
"""

from __future__ import annotations

from dataclasses import dataclass

from flexaqa.kg import KnowledgeGraph

PREPARATION_FRACTION = 0.15
"""Share of the first moving phase that counts as preparation (set-up checked as the lift begins)."""


@dataclass(frozen=True)
class Span:
    """Frames ``[start, stop)`` of one key step, in a repetition that starts at frame ``rep_start``."""

    key_step: str
    phase: str
    start: int
    stop: int
    rep_start: int

    def as_slice(self) -> slice:
        return slice(self.start, self.stop)


def key_step_spans(kg: KnowledgeGraph, action: str, start: int, turn: int, end: int) -> dict[str, Span]:
    """Spans of every key step of ``action`` in a repetition from ``start`` via ``turn`` to ``end``."""
    first, second = kg.phases_of(action)[1:]
    prep_stop = max(start + 2, start + round(PREPARATION_FRACTION * (turn - start)))
    phase_spans = {"Preparation": (start, min(prep_stop, end)), first: (start, turn), second: (turn, end)}
    spans: dict[str, Span] = {}
    for phase, (lo, hi) in phase_spans.items():
        steps = [s for s in kg.key_steps_of(action) if s.phase == phase]
        for i, step in enumerate(steps):
            a = lo + round(i * (hi - lo) / len(steps))
            b = lo + round((i + 1) * (hi - lo) / len(steps))
            spans[step.id] = Span(step.id, phase, a, max(b, a + 1), start)
    return spans
