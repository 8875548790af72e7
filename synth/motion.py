"""One repetition of an action as body angles over time, from the action's Turtle poses.

The body holds its start pose (preparation), moves to the turn pose (first moving phase), pauses
briefly, and returns (second phase). Moves follow a smooth cosine ease, as a controlled lift does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flexaqa.kg import Action
from flexaqa.synth.body import DOFS, expand


@dataclass(frozen=True)
class Tempo:
    """Seconds of each stretch of a repetition."""

    hold: float = 0.5
    first: float = 1.4
    pause: float = 0.15
    second: float = 1.2
    rest: float = 0.3

    def scaled(self, first: float = 1.0, second: float = 1.0) -> Tempo:
        return Tempo(self.hold, self.first * first, self.pause, self.second * second, self.rest)


@dataclass(frozen=True)
class Rep:
    """Per-frame body angles and the frames where movement starts, turns and ends."""

    dofs: dict[str, np.ndarray]
    fps: float
    start: int
    turn: int
    end: int
    jitter: dict[str, float]


def animate(action: Action, fps: float, tempo: Tempo, pose_jitter: dict[str, float] | None = None) -> Rep:
    """Body angles for one repetition; ``pose_jitter`` adds a per-subject offset to every frame."""
    start_pose = expand(action.start_pose)
    turn_pose = {**start_pose, **expand_turn(action)}
    n = [max(1, round(s * fps)) for s in (tempo.hold, tempo.first, tempo.pause, tempo.second, tempo.rest)]
    total = sum(n)
    ease_in = (1 - np.cos(np.linspace(0, np.pi, n[1]))) / 2
    ease_out = (1 + np.cos(np.linspace(0, np.pi, n[3]))) / 2
    progress = np.concatenate([np.zeros(n[0]), ease_in, np.ones(n[2]), ease_out, np.zeros(n[4])])
    jitter = pose_jitter or {}
    dofs = {
        d: start_pose[d] + progress * (turn_pose[d] - start_pose[d]) + jitter.get(d, 0.0) for d in DOFS
    }
    turn = n[0] + n[1] + n[2] // 2
    return Rep(dofs=dofs, fps=fps, start=n[0], turn=turn, end=min(total, n[0] + n[1] + n[2] + n[3]),
               jitter=dict(jitter))


def expand_turn(action: Action) -> dict[str, float]:
    """The turn pose over the start pose: only the degrees of freedom it names (either side) change."""
    full = expand(action.turn_pose)
    named = set(action.turn_pose) | {f"{s}_{k}" for k in action.turn_pose for s in "lr"}
    return {d: v for d, v in full.items() if d in named}
