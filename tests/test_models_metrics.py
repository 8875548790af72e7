"""The learned scorer's metrics, on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from flexaqa.models.metrics import (
    average_precision,
    best_thresholds,
    detection_metrics,
    expected_calibration_error,
    key_step_accuracy,
    score_metrics,
    span_iou,
)


def test_relative_l2_is_cores_squared_error_over_the_score_span_and_rho_is_rank_based() -> None:
    truth = np.array([0.0, 50.0, 100.0])
    m = score_metrics(np.array([10.0, 50.0, 80.0]), truth)
    assert m["rel_l2"] == pytest.approx(((0.1) ** 2 + 0 + 0.2**2) / 3)
    assert m["rho"] == pytest.approx(1.0)  # same order, other values
    assert score_metrics(np.array([3.0, 2.0, 1.0]), truth)["rho"] == pytest.approx(-1.0)
    assert score_metrics(np.full(3, 7.0), truth)["rho"] == 0.0  # a constant prediction ranks nothing


def test_detection_counts_masked_cells_at_per_rule_thresholds() -> None:
    prob = np.array([[0.9, 0.3], [0.6, 0.2], [0.1, 0.25]])
    target = np.array([[1, 1], [0, 0], [0, 1]], dtype=float)
    mask = np.ones_like(target, dtype=bool)
    at_half = detection_metrics(prob, target, mask)
    assert (at_half["precision"], at_half["recall"]) == (pytest.approx(1 / 2), pytest.approx(1 / 3))
    tuned = detection_metrics(prob, target, mask, np.array([0.7, 0.22]))
    assert tuned["f1"] == 1.0 and tuned["positives"] == 3
    only_first = detection_metrics(prob, target, mask & np.array([True, False]))
    assert only_first["positives"] == 1 and only_first["map"] == 1.0


def test_average_precision_and_the_threshold_of_best_f1() -> None:
    assert average_precision(np.array([0.9, 0.8, 0.7]), np.array([False, True, True])) == pytest.approx(
        (1 / 2 + 2 / 3) / 2)
    prob = np.array([[0.9], [0.7], [0.4], [0.35], [0.1]])
    target = np.array([[1], [1], [1], [0], [0]], dtype=float)
    threshold = best_thresholds(prob, target, np.ones_like(target, dtype=bool), min_positives=3)
    assert threshold[0] == pytest.approx((0.4 + 0.35) / 2)  # all three positives above, both negatives below
    pooled = best_thresholds(prob, target, np.ones_like(target, dtype=bool), min_positives=4)
    assert pooled[0] == pytest.approx(threshold[0])  # too few positives for its own: the pooled choice


def test_span_iou() -> None:
    predicted = np.array([[0.0, 1.0], [2.0, 3.0], [0.0, 2.0]])
    truth = np.array([[0.0, 1.0], [3.0, 4.0], [1.0, 3.0]])
    assert span_iou(predicted, truth) == pytest.approx((1 + 0 + 1 / 3) / 3)
    assert np.isnan(span_iou(np.zeros((0, 2)), np.zeros((0, 2))))


def test_key_step_accuracy_skips_unlabelled_steps() -> None:
    assert key_step_accuracy(np.array([[1, 2, 3, 0]]), np.array([[1, 2, -1, 1]])) == pytest.approx(2 / 3)


def test_expected_calibration_error() -> None:
    prob = np.array([0.05, 0.05, 0.95, 0.95])
    assert expected_calibration_error(prob, np.array([0, 0, 1, 1])) == pytest.approx(0.05)
    # half the cells in the 0.5 bin are positive: calibrated there; the 0.95 bin is never right
    prob = np.array([0.5, 0.5, 0.95, 0.95])
    assert expected_calibration_error(prob, np.array([0, 1, 0, 0])) == pytest.approx(0.5 * 0.95)
