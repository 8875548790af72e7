"""A labelled FLEX-layout folder (``flexaqa synth``) as tensors: inputs, per-rule targets and scores.

Rows are aligned with the rules of the graph in force (``kg.export.node_table(kg)["rule"]``): ``target``
is 1 where the labels list the rule's error, ``rule_mask`` marks the rules of the repetition's action.
Samples are split as the folder's ``Split_4`` lists say (the synthetic sets give every sample its own
simulated subject, so the test split holds subjects never seen in training).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from clips.errors import ClipError
from clips.flex import FlexDataset, action_id
from clips.labels import read_labels
from kg import KnowledgeGraph
from kg.export import node_table
from models.inputs import clip_inputs, stack

log = logging.getLogger(__name__)


@dataclass
class Split:
    """Tensors of one split; ``keys`` are (action, index) per row."""

    batch: dict[str, torch.Tensor]
    target: torch.Tensor  # (N, R) float
    rule_mask: torch.Tensor  # (N, R) bool
    score: torch.Tensor  # (N,)
    keys: list[tuple[str, int]]

    def __len__(self) -> int:
        return len(self.keys)

    def take(self, rows: torch.Tensor | slice) -> Split:
        keys = self.keys[rows] if isinstance(rows, slice) else [self.keys[i] for i in rows.tolist()]
        return Split({k: v[rows] for k, v in self.batch.items()}, self.target[rows], self.rule_mask[rows],
                     self.score[rows], keys)


def load_splits(kg: KnowledgeGraph, root: str | Path, cache_dir: str | Path | None = None,
                hidden_errors: frozenset[str] = frozenset()) -> dict[str, Split]:
    """``{"train": ..., "test": ...}`` of the folder; errors of ``hidden_errors`` (error type ids) are left out
    of every training target (the zero-shot experiment) and kept in the test targets."""
    labels = read_labels(root)
    data = FlexDataset(root, fps=labels.fps, emg_rate=labels.emg_rate, load_video=False, cache_dir=cache_dir)
    rules = node_table(kg)["rule"]
    row = {r: i for i, r in enumerate(rules)}
    by_key = {(s.action, s.index): s for s in labels.samples}
    out = {}
    for split in ("train", "test"):
        keys = [(action_id(a), int(i)) for a, i, _ in data.split(split)]
        reps, targets, masks, scores = [], [], [], []
        for action, index in tqdm(keys, desc=f"read {split}", unit="rep", disable=None):
            sample = by_key.get((action, index))
            clip = data.load(action, index)
            if sample is None or clip is None:
                raise ClipError(str(root), f"{action}/{index:03d} is in the {split} split but not in the labels "
                                "or on disk")
            kg.action(action)
            rep = sample.repetition
            reps += clip_inputs(kg, clip, [(rep.start / labels.fps, rep.end / labels.fps)])
            target = np.zeros(len(rules), dtype=np.float32)
            for err in sample.errors:
                if err.rule in row and not (split == "train" and err.error_type in hidden_errors):
                    target[row[err.rule]] = 1.0
            mask = np.zeros(len(rules), dtype=bool)
            mask[[row[r] for r in kg.action(action).rules]] = True
            targets.append(target)
            masks.append(mask)
            scores.append(sample.score)
        batch = {k: torch.from_numpy(v) for k, v in stack(reps).items()} if reps else {}
        out[split] = Split(batch, torch.from_numpy(np.stack(targets)) if targets else torch.zeros(0, len(rules)),
                           torch.from_numpy(np.stack(masks)) if masks else torch.zeros(0, len(rules), dtype=bool),
                           torch.tensor(scores, dtype=torch.float32), keys)
        log.info("%s: %d repetitions", split, len(keys))
    return out
