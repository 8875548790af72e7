"""A labelled FLEX-layout folder (``flexaqa synth``) as tensors: inputs, per-rule targets and scores.

Rows are aligned with the rules of the graph in force (``kg.export.node_table(kg)["rule"]``): ``target``
is 1 where the labels list the rule's error, ``rule_mask`` marks the rules of the repetition's action.
Samples are split as the folder's ``Split_4`` lists say (the synthetic sets give every sample its own
simulated subject, so the test split holds subjects never seen in training). Where the labels give them,
``span`` holds each labelled error's time span and ``steps`` the key step (row of the graph's ``key_step``
table) at each of the model's time steps, and ``answers`` what each rule's Turtle detector says, run on the
labelled timeline as ``flexaqa eval detectors`` runs it (the rules-only and merged baselines). The batch holds
what the modalities asked for read (:func:`models.modalities.repetition_inputs`): the views only with video.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from flexaqa.clips.errors import ClipError
from flexaqa.clips.flex import FlexDataset, action_id
from flexaqa.clips.labels import read_labels
from flexaqa.engine.detectors import evaluate
from flexaqa.engine.prepared import recording_of
from flexaqa.engine.timeline import key_step_spans
from flexaqa.kg import KnowledgeGraph
from flexaqa.kg.export import node_table
from flexaqa.models.inputs import STEPS
from flexaqa.models.modalities import BY_NAME, MODALITIES, repetition_inputs, stack
from flexaqa.models.views import film

log = logging.getLogger(__name__)


@dataclass
class Split:
    """Tensors of one split; ``keys`` are (action, index) per row."""

    batch: dict[str, torch.Tensor]
    target: torch.Tensor  # (N, R) float
    rule_mask: torch.Tensor  # (N, R) bool
    score: torch.Tensor  # (N,)
    keys: list[tuple[str, int]]
    span: torch.Tensor  # (N, R, 2) seconds of each labelled error, NaN where none
    window: torch.Tensor  # (N, 2) seconds the model's time steps run over
    steps: torch.Tensor  # (N, STEPS) long: key step row per time step, -1 outside every labelled key step
    step_mask: torch.Tensor  # (N, K) bool: the key steps of the repetition's action
    answers: torch.Tensor  # (N, R): the Turtle detector's answer (1 present, 0 absent), NaN: abstained or none

    def __len__(self) -> int:
        return len(self.keys)

    def take(self, rows: torch.Tensor | slice) -> Split:
        keys = self.keys[rows] if isinstance(rows, slice) else [self.keys[i] for i in rows.tolist()]
        return Split({k: v[rows] for k, v in self.batch.items()}, self.target[rows], self.rule_mask[rows],
                     self.score[rows], keys, self.span[rows], self.window[rows], self.steps[rows],
                     self.step_mask[rows], self.answers[rows])

    def hiding(self, hidden: torch.Tensor, weight: torch.Tensor) -> Split:
        """The split as if the rules ``hidden`` (R,) bool did not exist (the zero-shot protocol: error types
        written in Turtle after training): no target, no place in an action's rules, and each score recomputed
        from the remaining labelled errors with the rules' ``weight`` (R,), as the penalty formula gives it."""
        mask = self.rule_mask & ~hidden
        target = self.target * mask
        w_max = (weight * mask).sum(1).clamp(min=1e-6)
        score = 100.0 * (1.0 - (weight * target).sum(1) / w_max)
        span = self.span.masked_fill(~mask[..., None], float("nan"))
        return replace(self, target=target, rule_mask=mask, score=score.float(), span=span)

    def filmed(self, seed: int) -> Split:
        """The split as 2D camera views of its 3D skeletons (:func:`models.views.camera_views`, drawn with
        ``seed``), skeleton only: what a phone records of the same repetitions."""
        return replace(self, batch=film(self.batch, 1.0, torch.Generator().manual_seed(seed)))

    def partition(self, share: float, seed: int) -> tuple[Split, Split]:
        """(rest, held out): ``share`` of the rows drawn at random with ``seed``, e.g. a validation set of
        simulated subjects the training never sees (every synthetic sample is its own subject)."""
        order = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))
        cut = int(round(len(self) * share))
        return self.take(order[cut:].sort().values), self.take(order[:cut].sort().values)


def load_splits(kg: KnowledgeGraph, root: str | Path, cache_dir: str | Path | None = None,
                hidden_errors: frozenset[str] = frozenset(),
                modalities: Sequence[str] = MODALITIES) -> dict[str, Split]:
    """``{"train": ..., "test": ...}`` of the folder; the rules of ``hidden_errors`` (error type ids) are taken
    out of the training split (:meth:`Split.hiding`: the zero-shot experiment) and kept in the test split;
    ``modalities``: the names of those to read (a scorer's :attr:`~models.scorer.ScorerConfig.modalities`)."""
    labels = read_labels(root)
    data = FlexDataset(root, fps=labels.fps, emg_rate=labels.emg_rate, load_video="video" in modalities,
                       cache_dir=cache_dir)
    table = node_table(kg)
    rules, key_steps = table["rule"], table["key_step"]
    row = {r: i for i, r in enumerate(rules)}
    step_row = {k: i for i, k in enumerate(key_steps)}
    by_key = {(s.action, s.index): s for s in labels.samples}
    out = {}
    for split in ("train", "test"):
        keys = [(action_id(a), int(i)) for a, i, _ in data.split(split)]
        if not keys:
            raise ClipError(str(root), f"the {split} split lists no samples")
        reps = []
        scores: list[float] = []
        targets: list[np.ndarray] = []
        masks: list[np.ndarray] = []
        spans: list[np.ndarray] = []
        steps: list[np.ndarray] = []
        step_masks: list[np.ndarray] = []
        answers: list[np.ndarray] = []
        for action, index in tqdm(keys, desc=f"read {split}", unit="rep", disable=None):
            sample = by_key.get((action, index))
            clip = data.load(action, index)
            if sample is None or clip is None:
                raise ClipError(str(root), f"{action}/{index:03d} is in the {split} split but not in the labels "
                                "or on disk")
            rep = sample.repetition
            rec = recording_of(kg, clip)
            reps.append(repetition_inputs(kg, rec, rep.start / labels.fps, rep.end / labels.fps, clip, modalities))
            answer = np.full(len(rules), np.nan, dtype=np.float32)
            cut = key_step_spans(kg, action, rep.start, rep.turn, rep.end)  # the true timeline, as eval detectors
            for rule in kg.rules_of(action):
                finding = evaluate(rule, rec, cut[rule.key_step]) if rule.detector is not None else None
                if finding is not None and finding.status != "abstained":
                    answer[row[rule.id]] = float(finding.present)
            target = np.zeros(len(rules), dtype=np.float32)
            span = np.full((len(rules), 2), np.nan, dtype=np.float32)
            for err in sample.errors:
                if err.rule in row:
                    target[row[err.rule]] = 1.0
                    span[row[err.rule]] = err.time_span
            mask = np.zeros(len(rules), dtype=bool)
            mask[[row[r] for r in kg.action(action).rules]] = True
            step_mask = np.zeros(len(key_steps), dtype=bool)
            step_mask[[step_row[k] for k in kg.action(action).key_steps]] = True
            times = np.linspace(*reps[-1].window, STEPS)
            step = np.full(STEPS, -1, dtype=np.int64)
            for key, (lo, hi) in sample.key_steps.items():
                step[(times >= lo) & (times <= hi) & (step < 0)] = step_row[key]
            targets.append(target)
            masks.append(mask)
            scores.append(sample.score)
            spans.append(span)
            steps.append(step)
            step_masks.append(step_mask)
            answers.append(answer)
        arrays = stack(reps)
        for column, name in enumerate(modalities):
            if BY_NAME[name].opt_in and not arrays["present"][:, column].any():
                log.warning("%s: the %s split has %s; the %s branch will learn nothing", root, split,
                            BY_NAME[name].absent, name)
        batch = {k: torch.from_numpy(v) for k, v in arrays.items()}
        out[split] = Split(batch, torch.from_numpy(np.stack(targets)), torch.from_numpy(np.stack(masks)),
                           torch.tensor(scores, dtype=torch.float32), keys, torch.from_numpy(np.stack(spans)),
                           torch.tensor([r.window for r in reps], dtype=torch.float32),
                           torch.from_numpy(np.stack(steps)), torch.from_numpy(np.stack(step_masks)),
                           torch.from_numpy(np.stack(answers)))
        log.info("%s: %d repetitions", split, len(keys))
    if hidden_errors:
        hidden = torch.tensor([kg.rules[r].error_type in hidden_errors for r in rules])
        weight = torch.tensor([kg.rules[r].weight for r in rules], dtype=torch.float32)
        out["train"] = out["train"].hiding(hidden, weight)
    return out
