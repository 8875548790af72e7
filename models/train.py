"""Training and evaluation of :class:`~models.scorer.FKGScorer` on a labelled FLEX-layout folder.

Loss per repetition: binary cross-entropy of every rule of its action against the labels (optionally focal,
Lin et al. 2017, so the many easy "no error" cells weigh less), plus ``score_weight`` times the squared error
of the differentiable score (``S / 100``), plus ``step_weight`` times the cross-entropy of the key step at
each time step (over the action's key steps), plus ``span_weight`` times -log of the attention mass a
labelled error's rule puts inside its labelled span. Each training sample loses some of its modalities with
probability ``modality_drop`` (never all), so a clip missing any of them is still scored. A scorer built with video
(:attr:`~models.scorer.ScorerConfig.video`) is trained on the folder's views too. A ``validation`` share
of the training subjects is held out of training to choose each rule's decision threshold (never the test
split). Deterministic per seed on CPU. Under ``torchrun`` (``WORLD_SIZE`` > 1) the training rows are sharded
over the ranks and gradients averaged by DDP (gloo on CPU, NCCL on GPU); rank 0 evaluates and writes the
checkpoint. CUDA and bf16 autocast are used when present.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F  # the PyTorch convention
from tqdm import tqdm

from flexaqa.kg import KnowledgeGraph
from flexaqa.kg.export import node_table
from flexaqa.models import checkpoint
from flexaqa.models.baseline import PooledRegressor
from flexaqa.models.data import Split, load_splits
from flexaqa.models.graph_encoder import graph_inputs
from flexaqa.models.metrics import (
    best_thresholds,
    detection_metrics,
    expected_calibration_error,
    key_step_accuracy,
    score_metrics,
    span_iou,
)
from flexaqa.models.predict import attention_spans
from flexaqa.models.scorer import FKGScorer, ScorerConfig, expected_score
from flexaqa.models.views import film

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run depends on besides the data; saved in the checkpoint."""

    epochs: int = 30
    batch_size: int = 64
    """Rows per step: the graph encoder runs once per step, so larger batches cost it less per row."""
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    modality_drop: float = 0.3
    score_weight: float = 1.0
    positive_weight: float = 2.0
    """BCE weight of a labelled error against an absent one: errors are rare (about one rule cell in twelve of
    the synthetic sets is an error), so misses are weighed double."""
    focal: float = 0.0
    """Focal-loss exponent gamma (0: plain cross-entropy; Lin et al. 2017 use 2)."""
    step_weight: float = 0.2
    """Weight of the key-step cross-entropy against the error cross-entropy."""
    span_weight: float = 0.2
    """Weight of -log(attention mass inside the labelled span) of each labelled error: the time span a rule
    attends to is its reported span, so it is taught where the labels say the error is."""
    validation: float = 0.15
    """Share of the training subjects held out to choose decision thresholds (0: 0.5 for every rule)."""
    threshold_positives: int = 10
    """Validation errors a rule needs for a threshold of its own; with fewer it takes the pooled one (with 3,
    thresholds fitted to a handful of errors lost 0.1 F1 on held-out subjects, 150 reps/action)."""
    threads: int = 1
    """CPU threads for torch (0: torch's default). One is fastest on a small, shared CPU: these layers are too
    small for threads to pay for their synchronisation."""
    hidden_errors: tuple[str, ...] = ()
    """Error types left out of every training label (zero-shot experiments)."""
    camera_views: float = 0.0
    """Share of training rows seen as a 2D camera view of their 3D skeleton (:mod:`models.views`), drawn anew
    each step: a model trained with some speaks for phone-camera keypoints too (0: 3D only). Thresholds are then
    chosen on the validation subjects seen both ways."""
    model: ScorerConfig = field(default_factory=ScorerConfig)


@dataclass
class Fitted:
    """A trained scorer and the per-rule decision thresholds chosen on the validation split."""

    model: FKGScorer
    thresholds: np.ndarray  # (R,)
    train_reps: int


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train(kg: KnowledgeGraph, data: str | Path, out: str | Path | None, config: TrainConfig,
          cache_dir: str | Path | None = None) -> dict:
    """Train on ``data``'s train split, evaluate on its test split, write the checkpoint to ``out`` (rank 0)
    and return the test metrics."""
    rank, world = _init_distributed()
    try:
        if config.threads:
            torch.set_num_threads(config.threads)
        splits = load_splits(kg, data, cache_dir, frozenset(config.hidden_errors), config.model.modalities)
        fitted = fit_scorer(kg, splits["train"], config, rank, world)
        agree = _ranks_agree(fitted.model) if world > 1 else True
        metrics = {}
        if rank == 0:
            metrics = evaluate(fitted.model, kg, splits["test"], config.hidden_errors, fitted.thresholds)
        if rank == 0 and out is not None:
            rules = node_table(kg)["rule"]
            record: dict[str, Any] = {"train": {**asdict(config), "model": config.model.to_dict(), "data": str(data),
                                "train_reps": fitted.train_reps, "test_reps": len(splits["test"]), "world": world,
                                "ranks_agree": agree},
                      "thresholds": dict(zip(rules, fitted.thresholds.tolist(), strict=True))}
            seen = splits["train"].target.sum(0) > 0
            batch = splits["train"].batch
            depth = batch["skeleton"][batch["present"][:, 0], ..., 2].abs().amax(dim=(1, 2)) > 0
            kinds = {"3D" if d else "2D" for d in depth.tolist()} | ({"2D"} if config.camera_views else set())
            record["skeletons"] = sorted(kinds)  # what the Predictor speaks for
            record["rules_seen"] = [r for r, hit in zip(rules, seen.tolist(), strict=True) if hit]
            checkpoint.save(out, fitted.model, kg, metrics, record)
            log.info("wrote %s", out)
        return metrics
    finally:
        _leave_distributed(world)


def fit_scorer(kg: KnowledgeGraph, split: Split, config: TrainConfig, rank: int = 0, world: int = 1) -> Fitted:
    """Train a scorer on ``split`` less its validation share, then choose the thresholds on that share."""
    seed_everything(config.seed)
    dev = device()
    graph = graph_inputs(kg).to(dev)
    fit_rows, held = split.partition(config.validation, config.seed) if config.validation else (split, None)
    model = FKGScorer(config.model, graph.metadata(), graph["rule"].x.shape[1]).to(dev)
    weight = graph["rule"].weight
    gamma = config.focal

    def loss_of(module: torch.nn.Module, part: Split, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        out = module(batch, graph)
        logits = out.logits.float()
        mask, target = part.rule_mask.to(dev), part.target.to(dev)
        bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none",
                                                 pos_weight=torch.tensor(config.positive_weight, device=dev))
        if gamma:
            p = torch.sigmoid(logits)
            bce = bce * (1 - torch.where(target > 0.5, p, 1 - p)) ** gamma
        loss = (bce * mask).sum() / mask.sum().clamp(min=1)
        score = expected_score(torch.sigmoid(logits), weight, mask)
        loss = loss + config.score_weight * F.mse_loss(score / 100, part.score.to(dev) / 100)
        if config.span_weight:
            loss = loss + config.span_weight * _span_loss(out.attention.float(), part, dev)
        if config.step_weight:
            steps = out.steps.float().masked_fill(~part.step_mask.to(dev)[..., None], float("-inf"))
            loss = loss + config.step_weight * F.cross_entropy(steps, part.steps.to(dev), ignore_index=-1)
        return loss

    _fit(model, loss_of, fit_rows, config, rank, world)
    thresholds = np.full(len(weight), 0.5, dtype=np.float32)
    if held is not None and rank == 0 and len(held):
        seen = [held, held.filmed(config.seed)] if config.camera_views else [held]
        prob = np.concatenate([predict(model, kg, part).probability for part in seen])
        target, mask = (np.concatenate([getattr(part, f).numpy() for part in seen]) for f in ("target", "rule_mask"))
        thresholds = best_thresholds(prob, target, mask, config.threshold_positives)
    return Fitted(model, thresholds, len(fit_rows))


def fit_regressor(kg: KnowledgeGraph, split: Split, config: TrainConfig) -> PooledRegressor:
    """The FLEX-style baseline (:class:`~models.baseline.PooledRegressor`) trained on the score alone, on the same
    rows as :func:`fit_scorer` trains on."""
    seed_everything(config.seed)
    dev = device()
    fit_rows = split.partition(config.validation, config.seed)[0] if config.validation else split
    model = PooledRegressor(len(node_table(kg)["muscle"]), config.model.hidden).to(dev)

    def loss_of(module: torch.nn.Module, part: Split, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return F.mse_loss(module(batch).float() / 100, part.score.to(dev) / 100)

    _fit(model, loss_of, fit_rows, config, 0, 1)
    return model.eval()


def _fit(model: torch.nn.Module, loss_of: Callable[[torch.nn.Module, Split, dict[str, torch.Tensor]], torch.Tensor],
         split: Split, config: TrainConfig, rank: int, world: int) -> None:
    """AdamW with a one-cycle schedule over shuffled batches of ``split``, modalities dropped at random."""
    dev = next(model.parameters()).device
    # the last GNN layer's messages into node types the scorer never reads get no gradient: tell DDP
    wrapped = model if world == 1 else torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    rows = torch.arange(len(split) // world * world)[rank::world]  # equal shards: DDP steps in lockstep
    generator = torch.Generator().manual_seed(config.seed)
    steps_per_epoch = max(1, -(-len(rows) // config.batch_size))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.lr, total_steps=config.epochs * steps_per_epoch)
    bar = tqdm(range(config.epochs), desc=f"train {model.__class__.__name__}", unit="epoch",
               disable=None if rank == 0 else True)
    for _ in bar:
        model.train()
        order = rows[torch.randperm(len(rows), generator=generator)]
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            part = split.take(order[start:start + config.batch_size])
            batch = _to(part.batch, dev)
            batch["present"] = _drop_modalities(batch["present"], config.modality_drop, generator)
            if config.camera_views:
                batch = film(batch, config.camera_views, generator)
            with _autocast(dev):
                loss = loss_of(wrapped, part, batch)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(part)
        bar.set_postfix(loss=f"{total / max(1, len(rows)):.4f}")
    model.eval()


class Predictions(NamedTuple):
    """A scorer's outputs on a split: probabilities (N, R), expected scores (N,), attention spans (N, R, 2)
    in seconds and the key step row at each time step (N, T)."""

    probability: np.ndarray
    score: np.ndarray
    span: np.ndarray
    steps: np.ndarray


@torch.no_grad()
def predict(model: FKGScorer, kg: KnowledgeGraph, split: Split, modalities: tuple[str, ...] | None = None,
            batch_size: int = 256) -> Predictions:
    """The scorer's outputs with only ``modalities`` shown to it (default: all the model reads)."""
    model.eval()
    dev = next(model.parameters()).device
    graph = graph_inputs(kg).to(dev)
    nodes = model.node_embeddings(graph)
    shown = model.modalities if modalities is None else modalities
    keep = torch.tensor([m in shown for m in model.modalities], device=dev)
    probs, scores, spans, steps = [], [], [], []
    for start in range(0, len(split), batch_size):
        part = split.take(slice(start, start + batch_size))
        batch = _to(part.batch, dev)
        batch["present"] = batch["present"] & keep
        out = model(batch, nodes=nodes)
        p = torch.sigmoid(out.logits.float())
        probs.append(p.cpu())
        scores.append(expected_score(p, graph["rule"].weight, part.rule_mask.to(dev)).cpu())
        spans.append(attention_spans(out.attention.float().cpu().numpy(), part.window.numpy()))
        masked = out.steps.float().masked_fill(~part.step_mask.to(dev)[..., None], float("-inf"))
        steps.append(masked.argmax(1).cpu())
    return Predictions(torch.cat(probs).numpy(), torch.cat(scores).numpy(), np.concatenate(spans),
                       torch.cat(steps).numpy())


def evaluate(model: FKGScorer, kg: KnowledgeGraph, split: Split, errors: list[str] | tuple[str, ...] = (),
             thresholds: np.ndarray | float = 0.5) -> dict:
    """:func:`row_metrics` on ``split`` with every modality the model reads, with each alone, and on 2D camera views
    of its skeletons alone (:meth:`~models.data.Split.filmed`: what a phone would show of the same repetitions)."""
    out: dict = {"reps": len(split)}
    for name, shown in (("combined", model.modalities), *((m, (m,)) for m in model.modalities)):
        out[name] = row_metrics(kg, split, predict(model, kg, split, shown), thresholds, errors)
    if (split.batch["skeleton"][..., 2] != 0).any():  # 3D skeletons to film (a 2D set is its own row)
        out["2D views"] = row_metrics(kg, split, predict(model, kg, split.filmed(0)), thresholds, errors)
    return out


def row_metrics(kg: KnowledgeGraph, split: Split, pred: Predictions, thresholds: np.ndarray | float = 0.5,
                errors: list[str] | tuple[str, ...] = ()) -> dict:
    """Score and detection metrics of one set of predictions (any field may be None: that metric is left out).
    Detection is also split by whether the rule has a Turtle detector (the no-detector part counts only rules
    with a labelled error in the split, i.e. a declared fault motion), and given for the error types
    ``errors`` alone."""
    rules = [kg.rules[r] for r in node_table(kg)["rule"]]
    target, mask = split.target.numpy(), split.rule_mask.numpy()
    out: dict = {}
    if pred.score is not None:
        out.update(score_metrics(pred.score, split.score.numpy()))
    if pred.probability is not None:
        has_detector = np.array([r.detector is not None for r in rules])
        labelled = target.sum(0) > 0
        chosen = np.array([r.error_type in errors for r in rules])
        prob = pred.probability
        out["detection"] = detection_metrics(prob, target, mask, thresholds)
        out["detection_with_detector"] = detection_metrics(prob, target, mask & has_detector, thresholds)
        out["detection_without_detector"] = detection_metrics(prob, target, mask & ~has_detector & labelled,
                                                              thresholds)
        if errors:
            out["detection_chosen"] = detection_metrics(prob, target, mask & chosen, thresholds)
        out["ece"] = expected_calibration_error(prob[mask], target[mask] > 0.5)
    if pred.span is not None:
        positive = mask & (target > 0.5) & ~np.isnan(split.span.numpy()[..., 0])
        out["span_iou"] = span_iou(pred.span[positive], split.span.numpy()[positive])
    if pred.steps is not None:
        out["key_step_accuracy"] = key_step_accuracy(pred.steps, split.steps.numpy())
    return out


def _span_loss(attention: torch.Tensor, part: Split, dev: torch.device) -> torch.Tensor:
    """Mean -log of the attention mass (B, R, T) that each labelled error puts inside its labelled span."""
    span, window = part.span.to(dev), part.window.to(dev)
    labelled = ~torch.isnan(span[..., 0])
    if not labelled.any():
        return attention.sum() * 0.0
    times = window[:, :1] + (window[:, 1:] - window[:, :1]) * torch.linspace(0, 1, attention.shape[-1], device=dev)
    inside = (times[:, None, :] >= span[..., :1]) & (times[:, None, :] <= span[..., 1:])
    mass = (attention * inside).sum(-1)[labelled]
    return -torch.log(mass.clamp(min=1e-4)).mean()


def _ranks_agree(model: FKGScorer) -> bool:
    """Whether every rank ends with the same weights (DDP should guarantee it; the checkpoint records it)."""
    total = torch.stack([p.detach().double().sum() for p in model.parameters()]).sum().reshape(1)
    gathered = [torch.zeros_like(total) for _ in range(torch.distributed.get_world_size())]
    torch.distributed.all_gather(gathered, total)
    agree = all(torch.allclose(g, gathered[0]) for g in gathered)
    log.info("rank %d: weight checksum %.9g, ranks agree: %s", torch.distributed.get_rank(), float(total), agree)
    return agree


def _drop_modalities(present: torch.Tensor, rate: float, generator: torch.Generator) -> torch.Tensor:
    """With probability ``rate``, hide a random non-empty proper subset of a sample's modalities, never all.

    Every subset is drawn alike, so with video (three modalities) the model also trains on each modality
    alone and on each pair, skeleton+sEMG included; with two it hides one of them, as before.
    """
    k = present.shape[1]
    drop = torch.rand(len(present), generator=generator) < rate
    subset = torch.randint(1, 2**k - 1, (len(present),), generator=generator)
    hidden = (subset[:, None] >> torch.arange(k)) & 1 == 1
    kept = present & ~(hidden & drop[:, None]).to(present.device)
    return torch.where(kept.any(1, keepdim=True), kept, present)


def _to(batch: dict[str, torch.Tensor], dev: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(dev, non_blocking=True) for k, v in batch.items()}


def _autocast(dev: torch.device) -> AbstractContextManager[object]:
    if dev.type != "cuda":
        return nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast("cuda", dtype=dtype)


def _leave_distributed(world: int) -> None:
    """Leave the process group together: a barrier (rank 0 evaluated and wrote alone, so the others wait
    here rather than in gloo's teardown) and an explicit destroy, so no rank exits with it still alive."""
    if world > 1 and torch.distributed.is_initialized():
        try:
            torch.distributed.barrier()
        finally:
            torch.distributed.destroy_process_group()


def _init_distributed() -> tuple[int, int]:
    """(rank, world size): from ``torchrun``'s environment, or (0, 1) for a plain run."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    torch.distributed.init_process_group(backend)
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return torch.distributed.get_rank(), world
