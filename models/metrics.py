"""Metrics of a scorer on labelled repetitions: score agreement (Spearman rho and relative L2, as FLEX and
CoRe report them) and error detection (micro F1 at probability 0.5, mAP over error types with positives)."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr


def score_metrics(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """``rho``: Spearman rank correlation; ``rel_l2``: mean ((pred - true) / (max - min))^2 over the set, the
    FLEX/CoRe relative L2 (scores range over [0, 100] here, so the span is the observed one)."""
    span = float(truth.max() - truth.min()) or 1.0
    rho = float(spearmanr(predicted, truth).statistic) if np.ptp(truth) > 0 and np.ptp(predicted) > 0 else 0.0
    return {"rho": rho, "rel_l2": float(np.mean(((predicted - truth) / span) ** 2))}


def detection_metrics(probability: np.ndarray, target: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Micro ``f1``/``precision``/``recall`` over the masked (sample, rule) cells at 0.5, and ``map``: mean average
    precision over the rules (columns) that have a positive. Pass a narrower ``mask`` to score a subset."""
    p, t = probability[mask], target[mask] > 0.5
    hit = p >= 0.5
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
