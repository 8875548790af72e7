"""The compositional score, ``S = (1 - sum(W_observed) / sum(W_max)) * 100``, and its counting rules.

Counting rules (each is tested):

1. ``W_max`` of an action is the sum of the weights of all its penalty rules (Turtle), so a score depends
   on nothing but the rules in force.
2. A rule counts at most once per repetition (``fkg:OncePerRepetition``), however long its error lasts.
3. An error found with probability ``p`` (1 for a firing rule detector, the model's probability
   otherwise) contributes ``p * weight``: the score is the expected score.
4. The interval assumes the uncertain errors independent: its ends are the 5th and 95th percentiles of
   the score, computed exactly, widened to contain the expected score (with few, skewed errors the
   expectation can fall between two possible outcomes). A rule nobody could check (detector abstained,
   no model) is uncertain with
   ``p`` in [0, 1]: it counts 0 in the expected score and fully in the interval's lower end.
5. A set scores the mean of its repetitions; the worst repetition is reported beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Observation:
    """One rule's evidence in one repetition: its weight, probability of the error, and whether anyone
    could check it at all."""

    weight: float
    probability: float
    checked: bool = True


@dataclass(frozen=True)
class Score:
    expected: float
    low: float
    high: float
    points_checked: float
    """Share of ``W_max`` (in %) that a detector or the model actually examined."""


def penalty(observations: Sequence[Observation]) -> float:
    """Expected ``sum(W_observed)``."""
    return sum(o.weight * o.probability for o in observations if o.checked)


def repetition_score(w_max: float, observations: Sequence[Observation]) -> Score:
    """Score of one repetition from every rule of its action (``W_max`` must be their weight sum)."""
    if w_max <= 0:
        raise ValueError("W_max must be positive: an action needs at least one weighted rule")
    expected = _clip(100.0 * (1.0 - penalty(observations) / w_max))
    lost_low, lost_high = _penalty_quantiles(observations, 0.05, 0.95)
    lost = penalty(observations)
    lost_low, lost_high = min(lost_low, lost), max(lost_high, lost)
    unchecked = sum(o.weight for o in observations if not o.checked)
    checked = sum(o.weight for o in observations if o.checked)
    return Score(
        expected=expected,
        low=_clip(100.0 * (1.0 - (lost_high + unchecked) / w_max)),
        high=_clip(100.0 * (1.0 - lost_low / w_max)),
        points_checked=100.0 * checked / w_max,
    )


def set_score(scores: Sequence[Score]) -> tuple[Score, int]:
    """Mean of the repetitions' scores and the index of the worst repetition."""
    if not scores:
        raise ValueError("a set needs at least one repetition")
    mean = Score(*(float(np.mean([getattr(s, f) for s in scores])) for f in Score.__dataclass_fields__))
    worst = int(np.argmin([s.expected for s in scores]))
    return mean, worst


def _penalty_quantiles(observations: Sequence[Observation], lo: float, hi: float) -> tuple[float, float]:
    """Quantiles of the random penalty sum of independent Bernoulli errors, by exact enumeration on a grid
    of weights (weights are small numbers, so a 0.01 grid is exact for them)."""
    certain = sum(o.weight for o in observations if o.checked and o.probability >= 1.0)
    uncertain = [o for o in observations if o.checked and 0.0 < o.probability < 1.0]
    if not uncertain:
        return certain, certain
    steps = [round(o.weight * 100) for o in uncertain]
    dist = np.zeros(sum(steps) + 1)
    dist[0] = 1.0
    for o, step in zip(uncertain, steps, strict=True):
        dist = dist * (1 - o.probability) + np.concatenate([np.zeros(step), dist[: len(dist) - step]]) * o.probability
    cdf = np.cumsum(dist)
    return certain + np.searchsorted(cdf, lo) / 100, certain + np.searchsorted(cdf, hi) / 100


def _clip(value: float) -> float:
    return float(min(100.0, max(0.0, value)))
