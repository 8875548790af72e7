"""Side by side on one held-out-subject split: the Turtle rules alone, the FLEX-style no-graph regressor, the
graph-conditioned model (graph on and off; each modality alone and all combined, video among them for a scorer
built with it), rules and model merged, and the zero-shot experiment (error types hidden from every training label).

Every scorer is trained on the same training rows with the same :class:`~models.train.TrainConfig` and
scored on the same test rows. On synthetic data the labels were made through the rules' own detectors,
so every number here is self-consistency, not accuracy on real lifts.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from flexaqa.kg import KnowledgeGraph
from flexaqa.kg.entities import PenaltyRule
from flexaqa.kg.export import node_table
from flexaqa.models.data import Split
from flexaqa.models.graph_encoder import graph_inputs
from flexaqa.models.metrics import detection_metrics
from flexaqa.models.modalities import BY_NAME, MODALITIES
from flexaqa.models.scorer import expected_score
from flexaqa.models.train import Predictions, TrainConfig, fit_regressor, fit_scorer, predict, row_metrics

log = logging.getLogger(__name__)

COLUMNS = (("rho", "Spearman rho"), ("rel_l2", "rel. L2"), ("detection", "F1 all"),
           ("detection_with_detector", "F1 rules w/ detector"),
           ("detection_without_detector", "F1 fault motion only"), ("map", "mAP"), ("span_iou", "span IoU"),
           ("key_step_accuracy", "key-step acc."), ("ece", "ECE"))


def compare(kg: KnowledgeGraph, splits: dict[str, Split], config: TrainConfig,
            hidden_errors: tuple[str, ...] = ()) -> dict:
    """Rows of metrics (see :data:`COLUMNS`) and, with ``hidden_errors``, the zero-shot rows; with the wall
    time of each training."""
    if config.threads:
        torch.set_num_threads(config.threads)
    train, test = splits["train"], splits["test"]
    rows: dict[str, dict] = {}
    seconds: dict[str, float] = {}
    answers = np.nan_to_num(test.answers.numpy(), nan=0.0)  # an abstaining or missing detector counts 0
    rows["rules only (Turtle detectors)"] = row_metrics(kg, test, Predictions(answers, _score(kg, test, answers),
                                                                                 None, None))
    start = time.perf_counter()
    regressor = fit_regressor(kg, train, config)
    seconds["no-graph regressor"] = time.perf_counter() - start
    with torch.no_grad():
        score = regressor({k: v.to(next(regressor.parameters()).device) for k, v in test.batch.items()})
    rows["no-graph regressor (FLEX-style, skeleton+sEMG, score only)"] = row_metrics(
        kg, test, Predictions(None, score.float().cpu().numpy(), None, None))
    fitted = {}
    for graph in (True, False):
        start = time.perf_counter()
        fitted[graph] = fit_scorer(kg, train, replace(config, model=replace(config.model, use_graph=graph)))
        seconds[f"model, graph {'on' if graph else 'off'}"] = time.perf_counter() - start
    read = fitted[True].model.modalities
    for modalities in _shown(read):
        pred = predict(fitted[True].model, kg, test, modalities)
        rows[f"model, graph on, {_named(modalities)}"] = row_metrics(kg, test, pred, fitted[True].thresholds,
                                                                     hidden_errors)
    off = predict(fitted[False].model, kg, test)
    rows[f"model, graph off, {_named(read)}"] = row_metrics(kg, test, off, fitted[False].thresholds, hidden_errors)
    on = predict(fitted[True].model, kg, test)
    answered = ~np.isnan(test.answers.numpy())
    merged = np.where(answered, answers, on.probability)
    rows["rules + model merged"] = row_metrics(kg, test, on._replace(probability=merged,
                                                                      score=_score(kg, test, merged)),
                                               fitted[True].thresholds, hidden_errors)
    out: dict = {"rows": rows, "train_seconds": seconds, "train_reps": fitted[True].train_reps,
                 "validation_reps": len(train) - fitted[True].train_reps, "test_reps": len(test),
                 "config": {**config.__dict__, "model": config.model.to_dict()}}
    if hidden_errors:
        out["zero_shot"] = zero_shot(kg, splits, config, hidden_errors, (on.probability, fitted[True].thresholds))
    return out


def zero_shot(kg: KnowledgeGraph, splits: dict[str, Split], config: TrainConfig, hidden_errors: tuple[str, ...],
              trained: tuple[np.ndarray, np.ndarray]) -> dict:
    """F1 and mAP on the ``hidden_errors`` types, together and each alone, of a model trained as if their rules
    were not in the graph (:meth:`~models.data.Split.hiding`), next to the model trained with them (``trained``:
    its test probabilities and thresholds). Each type also says whether a rule the model did train on measures
    what its rules measure (:func:`measured_alike`): the graph can only carry a new rule to a trained neighbour."""
    rules = node_table(kg)["rule"]
    blind = np.array([kg.rules[r].error_type in hidden_errors for r in rules])
    unseen = splits["train"].hiding(torch.from_numpy(blind), graph_inputs(kg)["rule"].weight)
    start = time.perf_counter()
    fitted = fit_scorer(kg, unseen, replace(config, hidden_errors=tuple(hidden_errors)))
    seconds = time.perf_counter() - start
    test = splits["test"]
    target, mask = test.target.numpy(), test.rule_mask.numpy()
    zero = (predict(fitted.model, kg, test).probability, fitted.thresholds)
    labelled = unseen.target.numpy().sum(0) > 0
    out: dict[str, Any] = {"errors": list(hidden_errors), "train_seconds": seconds, "types": {}}
    for name, (probability, thresholds) in (("trained_normally", trained), ("held_out", zero)):
        out[name] = detection_metrics(probability, target, mask & blind, thresholds)
    for error in hidden_errors:
        of_type = np.array([kg.rules[r].error_type == error for r in rules])
        out["types"][error] = {
            "trained_normally": detection_metrics(trained[0], target, mask & of_type, trained[1]),
            "held_out": detection_metrics(zero[0], target, mask & of_type, zero[1]),
            "measured_alike": any(measured_alike(kg.rules[rules[i]], kg.rules[rules[j]])
                                  for i in np.flatnonzero(of_type) for j in np.flatnonzero(labelled))}
    return out


def measured_alike(rule: PenaltyRule, other: PenaltyRule) -> bool:
    """Whether two rules look at the same thing the same way: one detector feature, joints and comparator, or one
    fault-motion degree of freedom or quantity changing the same way."""
    a, b = rule.detector, other.detector
    if a is not None and b is not None and (a.feature, a.joints, a.comparator) == (b.feature, b.joints, b.comparator):
        return True
    m, n = rule.fault_motion, other.fault_motion
    return (m is not None and n is not None and (m.dof, m.quantity) == (n.dof, n.quantity)
            and (m.amount > 0) == (n.amount > 0))


def _shown(read: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The modality sets a model reading ``read`` is shown in the table: skeleton and sEMG together, each modality
    alone and, for a model with video, all of them."""
    return [MODALITIES, *((m,) for m in read), *([read] if read != MODALITIES else [])]


def _named(modalities: tuple[str, ...]) -> str:
    return "+".join(BY_NAME[m].label for m in modalities)


def pick_errors(kg: KnowledgeGraph, split: Split, count: int, seed: int) -> tuple[str, ...]:
    """``count`` error types drawn with ``seed`` among those labelled in ``split`` (so their F1 is defined)."""
    rules = node_table(kg)["rule"]
    labelled = sorted({kg.rules[r].error_type for r, n in zip(rules, split.target.sum(0).tolist(), strict=True) if n})
    return tuple(sorted(random.Random(seed).sample(labelled, min(count, len(labelled)))))


def markdown(result: dict, title: str) -> str:
    """The comparison as one Markdown table, with the zero-shot table under it."""
    lines = [f"# {title}", "", f"Train {result['train_reps']} / validation {result['validation_reps']} / test "
             f"{result['test_reps']} repetitions; test subjects are never seen in training.", "",
             "| scorer | " + " | ".join(name for _, name in COLUMNS) + " |",
             "|---|" + "---:|" * len(COLUMNS)]
    for name, metrics in result["rows"].items():
        lines.append(f"| {name} | " + " | ".join(_cell(metrics, key) for key, _ in COLUMNS) + " |")
    lines += ["", "F1: micro F1 over (repetition, rule) cells at each rule's threshold (chosen on the validation "
              "subjects; 1 for a detector's yes/no) / labelled errors. \"fault motion only\": rules with no Turtle "
              "detector that carry labelled errors (the rules score 0 there). rel. L2: CoRe's "
              "mean((|s - s_hat| / (s_max - s_min))^2). span IoU: the 10-90 % attention-mass span against the "
              "labelled key step's span. ECE: 15 bins over every rule cell.", ""]
    if "zero_shot" in result:
        zs = result["zero_shot"]
        lines += ["## Zero-shot: error types hidden from every training label", "",
                  f"Hidden: {', '.join(zs['errors'])}. \"Alike\": a rule the model trained on measures what one of the "
                  "type's rules measures (same detector feature, joints and comparator, or same fault motion).", "",
                  "| error types | F1 trained with them | mAP | F1 never saw them labelled | mAP | labelled | alike |",
                  "|---|---:|---:|---:|---:|---:|---|"]
        for name, m in (("all hidden", zs), *zs["types"].items()):
            alike = "" if name == "all hidden" else ("yes" if m["measured_alike"] else "no")
            seen, zero = m["trained_normally"], m["held_out"]
            lines.append(f"| {name} | {seen['f1']:.3f} | {seen['map']:.3f} | {zero['f1']:.3f} | {zero['map']:.3f} | "
                         f"{zero['positives']} | {alike} |")
        lines.append("")
    lines.append("Train wall time: " + ", ".join(f"{k} {v:.0f} s" for k, v in result["train_seconds"].items())
                 + (f", zero-shot {result['zero_shot']['train_seconds']:.0f} s" if "zero_shot" in result else "")
                 + ".")
    return "\n".join(lines) + "\n"


def _cell(metrics: dict, key: str) -> str:
    if key == "map":
        return f"{metrics['detection']['map']:.3f}" if "detection" in metrics else "-"
    value = metrics.get(key)
    if value is None:
        return "-"
    if isinstance(value, dict):
        return f"{value['f1']:.3f} / {value['positives']}" if value["positives"] else "-"
    return "-" if np.isnan(value) else f"{value:.3f}"


def _score(kg: KnowledgeGraph, split: Split, probability: np.ndarray) -> np.ndarray:
    """The penalty score of per-rule probabilities (the engine's formula)."""
    weight = graph_inputs(kg)["rule"].weight
    return expected_score(torch.from_numpy(probability).float(), weight, split.rule_mask).numpy()

