"""Metrics of a scorer on labelled repetitions.

- score agreement: Spearman rho and relative L2, as FLEX and CoRe (Yu et al. 2021) report them;
- error detection: micro F1 at per-rule thresholds (0.5 when none were chosen), mAP over rules with positives;
- time-span IoU of the span a rule attended to against the labelled span of its error;
- key-step accuracy: the share of time steps given the labelled key step;
- expected calibration error (Guo et al. 2017, 15 equal-width bins, their default) of the error probabilities.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

ECE_BINS = 15
"""Equal-width probability bins of the expected calibration error (Guo et al. 2017 use 15)."""


def score_metrics(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """``rho``: Spearman rank correlation; ``rel_l2``: CoRe's relative L2,
    mean ((|s - s_hat|) / (s_max - s_min))^2, with s_max - s_min the span of the true scores in the set."""
    span = float(truth.max() - truth.min()) if len(truth) else 0.0
    rho = float(spearmanr(predicted, truth).statistic) if np.ptp(truth) > 0 and np.ptp(predicted) > 0 else 0.0
    return {"rho": rho, "rel_l2": float(np.mean((np.abs(predicted - truth) / (span or 1.0)) ** 2))}


def detection_metrics(probability: np.ndarray, target: np.ndarray, mask: np.ndarray,
                      threshold: np.ndarray | float = 0.5) -> dict[str, float]:
    """Micro ``f1``/``precision``/``recall`` over the masked (sample, rule) cells at ``threshold`` (one per rule
    column, or one for all), and ``map``: mean average precision over the rules (columns) that have a positive.
    Pass a narrower ``mask`` to score a subset."""
    hit_all = probability >= np.broadcast_to(threshold, probability.shape[-1:])
    hit, t = hit_all[mask], target[mask] > 0.5
    tp, fp, fn = int((hit & t).sum()), int((hit & ~t).sum()), int((~hit & t).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    aps = [average_precision(probability[mask[:, c], c], target[mask[:, c], c] > 0.5)
           for c in range(target.shape[1]) if (target[mask[:, c], c] > 0.5).any()]
    return {"f1": f1, "precision": precision, "recall": recall, "map": float(np.mean(aps)) if aps else 0.0,
            "positives": tp + fn}


def average_precision(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the precision-recall curve as the mean precision at each positive's rank."""
    order = np.argsort(-score, kind="stable")
    hits = positive[order]
    precision_at = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision_at[hits].mean()) if hits.any() else 0.0


def best_thresholds(probability: np.ndarray, target: np.ndarray, mask: np.ndarray, min_positives: int = 3
                    ) -> np.ndarray:
    """One decision threshold per rule column, the one of highest F1 on these (validation) cells; a column with
    fewer than ``min_positives`` positives takes the threshold best for all cells pooled, as a few positives
    would only pick noise."""
    pooled = _best_threshold(probability[mask], target[mask] > 0.5)
    out = np.full(probability.shape[1], pooled, dtype=np.float32)
    for c in range(probability.shape[1]):
        positive = target[mask[:, c], c] > 0.5
        if positive.sum() >= min_positives:
            out[c] = _best_threshold(probability[mask[:, c], c], positive)
    return out


def _best_threshold(probability: np.ndarray, positive: np.ndarray) -> float:
    """The threshold of highest F1, half way between a positive's probability and the next one below it (0.5
    when there is no positive)."""
    if not positive.any():
        return 0.5
    order = np.argsort(-probability, kind="stable")
    p, hits = probability[order], positive[order]
    tp = np.cumsum(hits)
    f1 = 2 * tp / (np.arange(1, len(p) + 1) + positive.sum())
    k = int(np.argmax(np.where(hits, f1, -1)))  # cut just below a positive
    below = p[k + 1] if k + 1 < len(p) else 0.0
    return float((p[k] + below) / 2)


def span_iou(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Mean intersection over union of (N, 2) ``predicted`` and ``truth`` (start, end) spans (NaN if N is 0)."""
    if not len(truth):
        return float("nan")
    inter = np.clip(np.minimum(predicted[:, 1], truth[:, 1]) - np.maximum(predicted[:, 0], truth[:, 0]), 0, None)
    union = np.maximum(predicted[:, 1], truth[:, 1]) - np.minimum(predicted[:, 0], truth[:, 0])
    return float(np.mean(np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)))


def key_step_accuracy(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Share of time steps whose predicted key step is the labelled one; steps labelled -1 (none) are skipped."""
    known = truth >= 0
    return float((predicted[known] == truth[known]).mean()) if known.any() else float("nan")


def expected_calibration_error(probability: np.ndarray, positive: np.ndarray, bins: int = ECE_BINS) -> float:
    """Sum over equal-width probability bins of (share of cells) * |mean probability - share of positives|."""
    probability, positive = np.ravel(probability), np.ravel(positive).astype(float)
    if not len(probability):
        return float("nan")
    which = np.minimum((probability * bins).astype(int), bins - 1)
    total = 0.0
    for b in np.unique(which):
        inside = which == b
        total += inside.mean() * abs(probability[inside].mean() - positive[inside].mean())
    return float(total)
