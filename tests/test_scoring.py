"""The compositional score's counting rules, as properties (hypothesis) and worked examples."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexaqa.engine.scoring import Observation, repetition_score, set_score

weights = st.lists(st.sampled_from([2.0, 5.0, 6.0, 7.0, 8.0, 9.0, 9.5, 10.0]), min_size=1, max_size=12)


@st.composite
def rule_sets(draw):
    ws = draw(weights)
    probs = draw(st.lists(st.floats(0, 1), min_size=len(ws), max_size=len(ws)))
    checked = draw(st.lists(st.booleans(), min_size=len(ws), max_size=len(ws)))
    return [Observation(w, p, c) for w, p, c in zip(ws, probs, checked, strict=True)]


@settings(max_examples=200, deadline=None)
@given(rule_sets())
def test_score_and_interval_stay_in_0_100_and_bracket_the_expectation(obs) -> None:
    score = repetition_score(sum(o.weight for o in obs), obs)
    assert 0 <= score.low <= score.expected + 1e-9 <= score.high + 2e-9 <= 100 + 2e-9


@settings(max_examples=100, deadline=None)
@given(weights)
def test_score_is_exactly_100_when_no_error_is_observed(ws) -> None:
    obs = [Observation(w, 0.0) for w in ws]
    score = repetition_score(sum(ws), obs)
    assert score.expected == score.low == score.high == 100.0


@settings(max_examples=200, deadline=None)
@given(rule_sets(), st.integers(0, 11))
def test_adding_an_error_never_raises_the_score(obs, which) -> None:
    i = which % len(obs)
    w_max = sum(o.weight for o in obs)
    before = repetition_score(w_max, obs)
    worse = list(obs)
    worse[i] = Observation(obs[i].weight, 1.0, True)
    after = repetition_score(w_max, worse)
    assert after.expected <= before.expected + 1e-9


def test_each_error_costs_its_weight_over_w_max() -> None:
    obs = [Observation(10, 1.0), Observation(6, 0.0), Observation(2, 1.0), Observation(7, 0.0)]
    assert repetition_score(25, obs).expected == pytest.approx((1 - 12 / 25) * 100)


def test_a_probability_counts_its_expected_weight_and_widens_the_interval() -> None:
    score = repetition_score(20, [Observation(10, 0.5), Observation(10, 0.0)])
    assert score.expected == pytest.approx(75.0)
    assert score.low == pytest.approx(50.0) and score.high == pytest.approx(100.0)


def test_unchecked_rules_cost_nothing_but_lower_the_interval() -> None:
    score = repetition_score(20, [Observation(10, 0.0, checked=False), Observation(10, 1.0)])
    assert score.expected == pytest.approx(50.0)
    assert score.low == pytest.approx(0.0)
    assert score.points_checked == pytest.approx(50.0)


def test_a_set_scores_the_mean_and_names_its_worst_rep() -> None:
    reps = [repetition_score(10, [Observation(10, p)]) for p in (0.0, 1.0, 0.5)]
    mean, worst = set_score(reps)
    assert mean.expected == pytest.approx(50.0) and worst == 1
