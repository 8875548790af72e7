"""Training and evaluation of :class:`~models.scorer.FKGScorer` on a labelled FLEX-layout folder.

Loss per repetition: binary cross-entropy of every rule of its action against the labels, plus
``score_weight`` times the squared error of the differentiable score (``S / 100``). Each training sample
loses one modality with probability ``modality_drop`` (never both), so a skeleton-only or sEMG-only clip
is still scored. Deterministic per seed on CPU. Under ``torchrun`` (``WORLD_SIZE`` > 1) the training rows
are sharded over the ranks and gradients averaged by DDP (gloo on CPU, NCCL on GPU); rank 0 evaluates
and writes the checkpoint. CUDA and bf16 autocast are used when present.
"""

from __future__ import annotations

import logging
import os
import random
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - the PyTorch convention
from tqdm import tqdm

from kg import KnowledgeGraph
from models import checkpoint
from models.data import Split, load_splits
from models.graph_encoder import graph_inputs
from models.inputs import MODALITIES
from models.metrics import detection_metrics, score_metrics
from models.scorer import FKGScorer, ScorerConfig, expected_score

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run depends on besides the data; saved in the checkpoint."""

    epochs: int = 30
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    modality_drop: float = 0.3
    score_weight: float = 1.0
    positive_weight: float = 1.0
    """BCE weight of a labelled error against an absent one: errors are rare (about one rule in ten per rep)."""
    threads: int = 1
    """CPU threads for torch (0: torch's default). One is fastest on a small, shared CPU: these layers are too
    small for threads to pay for their synchronisation."""
    hidden_errors: tuple[str, ...] = ()
    """Error types left out of every training label (zero-shot experiments)."""
    model: ScorerConfig = field(default_factory=ScorerConfig)


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
    seed_everything(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    splits = load_splits(kg, data, cache_dir, frozenset(config.hidden_errors))
    dev = device()
    graph = graph_inputs(kg).to(dev)
    model = FKGScorer(config.model, graph.metadata(), graph["rule"].x.shape[1]).to(dev)
    # the last GNN layer's messages into node types the scorer never reads get no gradient: tell DDP
    wrapped = model if world == 1 else torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    weight = graph["rule"].weight
    rows = torch.arange(len(splits["train"]) // world * world)[rank::world]  # equal shards: DDP steps in lockstep
    generator = torch.Generator().manual_seed(config.seed)
    steps_per_epoch = max(1, -(-len(rows) // config.batch_size))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.lr, total_steps=config.epochs * steps_per_epoch)
    bar = tqdm(range(config.epochs), desc="train", unit="epoch", disable=None if rank == 0 else True)
    for _ in bar:
        model.train()
        order = rows[torch.randperm(len(rows), generator=generator)]
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            part = splits["train"].take(order[start:start + config.batch_size])
            batch = _to(part.batch, dev)
            batch["present"] = _drop_modalities(batch["present"], config.modality_drop, generator)
            with _autocast(dev):
                logits, _ = wrapped(batch, graph)
            mask, target = part.rule_mask.to(dev), part.target.to(dev)
            bce = F.binary_cross_entropy_with_logits(logits.float(), target, reduction="none",
                                                     pos_weight=torch.tensor(config.positive_weight, device=dev))
            loss = (bce * mask).sum() / mask.sum().clamp(min=1)
            score = expected_score(torch.sigmoid(logits.float()), weight, mask)
            loss = loss + config.score_weight * F.mse_loss(score / 100, part.score.to(dev) / 100)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(part)
        bar.set_postfix(loss=f"{total / max(1, len(rows)):.4f}")
    agree = _ranks_agree(model) if world > 1 else True
    metrics = evaluate(model, kg, splits["test"], config.hidden_errors) if rank == 0 else {}
    if rank == 0 and out is not None:
        record = {"train": {**asdict(config), "model": config.model.to_dict(), "data": str(data),
                            "train_reps": len(splits["train"]), "test_reps": len(splits["test"]), "world": world,
                            "ranks_agree": agree}}
        seen = splits["train"].target.sum(0) > 0
        record["rules_seen"] = [r for r, hit in zip(graph["rule"].node_ids, seen.tolist(), strict=True) if hit]
        checkpoint.save(out, model, kg, metrics, record)
        log.info("wrote %s", out)
    if world > 1:
        torch.distributed.barrier()  # rank 0 evaluated and wrote alone: leave together, or gloo may hang at exit
        torch.distributed.destroy_process_group()
    return metrics


@torch.no_grad()
def predict(model: FKGScorer, kg: KnowledgeGraph, split: Split, modalities: tuple[str, ...] = MODALITIES,
            batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities (N, R) and expected scores (N,) with only ``modalities`` shown to the model."""
    model.eval()
    dev = next(model.parameters()).device
    graph = graph_inputs(kg).to(dev)
    nodes = model.node_embeddings(graph)
    keep = torch.tensor([m in modalities for m in MODALITIES], device=dev)
    probs, scores = [], []
    for start in range(0, len(split), batch_size):
        part = split.take(slice(start, start + batch_size))
        batch = _to(part.batch, dev)
        batch["present"] = batch["present"] & keep
        logits, _ = model(batch, nodes=nodes)
        p = torch.sigmoid(logits.float())
        probs.append(p.cpu())
        scores.append(expected_score(p, graph["rule"].weight, part.rule_mask.to(dev)).cpu())
    return torch.cat(probs).numpy(), torch.cat(scores).numpy()


def evaluate(model: FKGScorer, kg: KnowledgeGraph, split: Split, errors: list[str] | tuple[str, ...] = ()) -> dict:
    """Score and detection metrics on ``split``, with both modalities and with each alone; detection is also
    split by whether the rule has a Turtle detector, and given for the error types ``errors`` alone."""
    rules = graph_inputs(kg)["rule"].node_ids
    has_detector = np.array([kg.rules[r].detector is not None for r in rules])
    chosen = np.array([kg.rules[r].error_type in errors for r in rules])
    target, mask = split.target.numpy(), split.rule_mask.numpy()
    out: dict = {"reps": len(split)}
    for name, shown in (("combined", MODALITIES), *((m, (m,)) for m in MODALITIES)):
        prob, score = predict(model, kg, split, shown)
        out[name] = {**score_metrics(score, split.score.numpy()),
                     "detection": detection_metrics(prob, target, mask),
                     "detection_with_detector": detection_metrics(prob, target, mask & has_detector),
                     "detection_without_detector": detection_metrics(prob, target, mask & ~has_detector)}
        if errors:
            out[name]["detection_chosen"] = detection_metrics(prob, target, mask & chosen)
    return out


def _ranks_agree(model: FKGScorer) -> bool:
    """Whether every rank ends with the same weights (DDP should guarantee it; the checkpoint records it)."""
    total = torch.stack([p.detach().double().sum() for p in model.parameters()]).sum().reshape(1)
    gathered = [torch.zeros_like(total) for _ in range(torch.distributed.get_world_size())]
    torch.distributed.all_gather(gathered, total)
    agree = all(torch.allclose(g, gathered[0]) for g in gathered)
    log.info("rank %d: weight checksum %.9g, ranks agree: %s", torch.distributed.get_rank(), float(total), agree)
    return agree


def _drop_modalities(present: torch.Tensor, rate: float, generator: torch.Generator) -> torch.Tensor:
    """Hide one modality of a sample with probability ``rate`` (which one at random), never all of them."""
    drop = torch.rand(len(present), generator=generator) < rate
    which = torch.randint(0, present.shape[1], (len(present),), generator=generator)
    hidden = torch.zeros_like(present)
    hidden[torch.arange(len(present)), which] = drop.to(present.device)
    kept = present & ~hidden
    return torch.where(kept.any(1, keepdim=True), kept, present)


def _to(batch: dict[str, torch.Tensor], dev: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(dev, non_blocking=True) for k, v in batch.items()}


def _autocast(dev: torch.device):  # noqa: ANN202 - a context manager
    if dev.type != "cuda":
        return nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast("cuda", dtype=dtype)


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
