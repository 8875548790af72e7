"""The model's findings for the engine: per repetition and rule, the probability of its error and the time
span the model attended to (:class:`engine.evidence.ModelFinding`).

The clip is read as the engine reads it (:class:`engine.prepared.Prepared`: given one, nothing is cleaned or
cut again), so finding ``repetition=k`` speaks of the engine's repetition ``k``. Node embeddings come from the
checkpoint on the graph it was trained on (no PyTorch Geometric import) and are computed once per exported
graph otherwise (:func:`kg.export.digest`). One predictor may serve several threads and graph versions at
once. The clip's video views are read only by a checkpoint built with video; a clip without views is scored
from the rest.
"""

from __future__ import annotations

import logging
import threading
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import torch

from flexaqa.clips.clip import Clip
from flexaqa.engine.evidence import ModelFinding
from flexaqa.engine.prepared import Prepared, as_prepared, clip_of
from flexaqa.kg import KnowledgeGraph
from flexaqa.kg.export import digest, node_table
from flexaqa.kg.per_graph import PerGraph
from flexaqa.models import checkpoint, manifest
from flexaqa.models.inputs import STEPS
from flexaqa.models.modalities import repetition_inputs, stack
from flexaqa.models.scorer import FKGScorer

log = logging.getLogger(__name__)

SPAN_MASS = (0.1, 0.9)
"""A finding's time span: where the rule's attention over the repetition passes these shares of its mass."""


class Predictor:
    """A loaded checkpoint that turns clips into model findings; ``source`` names it and its training graph."""

    def __init__(self, path: str | Path, kg: KnowledgeGraph) -> None:
        self.path = Path(path)
        self.model, self.record, nodes = checkpoint.load_scorer(self.path, kg)
        self.source = f"model {self.path.name} (trained on KG {self.record['kg_version']})"
        self._lock = threading.Lock()
        self._nodes: PerGraph[str, dict[str, torch.Tensor] | str] = PerGraph()
        self._nodes.get(digest(kg), lambda: nodes)

    def nodes(self, kg: KnowledgeGraph) -> dict[str, torch.Tensor]:
        """Node embeddings of ``kg``, kept for the last few exported graphs (:func:`kg.export.digest`: a KG
        version that changed only words or thresholds reuses them; a new graph says what changed, once). Raises
        :class:`~models.checkpoint.CheckpointError` for a graph the checkpoint cannot read (or that needs PyTorch
        Geometric, which is missing), and remembers it, so clip after clip does not try it again."""
        with self._lock:  # one graph encoded at a time: encoding may load the graph encoder into self.model
            found = self._nodes.get(digest(kg), partial(self._encoded, kg))
        if isinstance(found, str):
            raise checkpoint.CheckpointError(found)
        return found

    def _encoded(self, kg: KnowledgeGraph) -> dict[str, torch.Tensor] | str:
        """Node embeddings of a graph the checkpoint holds none of, through its graph encoder, or why it cannot
        read the graph."""
        if not checkpoint.same_graph(self.record, kg):
            warnings.warn(checkpoint.GraphChangedWarning(  # stacklevel: past findings, nodes and the cache
                f"{self.path.name}: the graph is now {kg.version}: {checkpoint.changes(self.record, kg)}"),
                stacklevel=5)
        try:
            return self._embeddings(kg)
        except (checkpoint.CheckpointError, ImportError) as exc:
            return str(exc)

    def _embeddings(self, kg: KnowledgeGraph) -> dict[str, torch.Tensor]:
        """Run the graph encoder, loading it first when the checkpoint was loaded without it."""
        from flexaqa.models.graph_encoder import graph_inputs

        if not isinstance(self.model, FKGScorer):  # loaded without its graph encoder: load it now
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", checkpoint.GraphChangedWarning)  # said just above
                self.model, _ = checkpoint.load(self.path, kg)
        with torch.no_grad():
            return self.model.node_embeddings(graph_inputs(kg))

    @torch.no_grad()
    def findings(self, kg: KnowledgeGraph, clip: Clip | Prepared, min_confidence: float | None = None
                 ) -> list[ModelFinding]:
        """One finding per repetition and rule of the clip's action that the model can speak for: a rule it saw
        labelled errors of in training, or one new to it (added to the graph since: zero-shot, from its
        embedding). A rule of its training graph that it never saw an error of is left to the rules (it
        would only repeat "never happens"), so the report keeps saying it was not checked."""
        raw = clip_of(clip)
        action = kg.action(raw.action)
        reason = manifest.declines(self.record, raw)
        if reason is not None:
            log.warning("%s: %s", self.path.name, reason)
            return []
        prepared = as_prepared(kg, clip, min_confidence)
        rec, reps = prepared.recording, prepared.repetitions
        inputs = [repetition_inputs(kg, rec, r.start / rec.fps, r.end / rec.fps, raw, self.model.modalities)
                  for r in reps]
        batch = {k: torch.from_numpy(v) for k, v in stack(inputs).items()}
        out = self.model(batch, nodes=self.nodes(kg))
        rows = {r: i for i, r in enumerate(node_table(kg)["rule"])}
        probability = torch.sigmoid(out.logits).numpy()
        spans = attention_spans(out.attention.numpy(), np.array([rep.window for rep in inputs]))
        known, seen = set(self.record["rules"]), set(self.record.get("rules_seen", ()))
        speaks = [r for r in action.rules if r in seen or r not in known]
        thresholds = self.record.get("thresholds", {})
        return [ModelFinding(repetition=k + 1, rule=rule, probability=round(float(probability[k, rows[rule]]), 4),
                             source=self.source, time_span=(round(float(spans[k, rows[rule], 0]), 3),
                                        round(float(spans[k, rows[rule], 1]), 3)),
                             threshold=thresholds.get(rule, 0.5))
                for k in range(len(inputs)) for rule in speaks]


def attention_spans(attention: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """(N, R, 2) seconds where each rule's attention (N, R, T) over a repetition's window (N, 2) passes the
    :data:`SPAN_MASS` shares of its mass."""
    mass = np.cumsum(attention, axis=-1)
    out = np.empty((*attention.shape[:2], 2), dtype=np.float32)
    for j, share in enumerate(SPAN_MASS):
        step = np.minimum((mass < share * mass[..., -1:]).sum(-1), STEPS - 1)
        out[..., j] = windows[:, None, 0] + step * (windows[:, None, 1] - windows[:, None, 0]) / (STEPS - 1)
    return out
