"""The model's findings for the engine: per repetition and rule, the probability of its error and the time
span the model attended to (:class:`engine.evidence.ModelFinding`).

Repetitions are cut exactly as the engine cuts them (:func:`clips.segmentation.repetitions`), so finding
``repetition=k`` speaks of the engine's repetition ``k``. Rule embeddings are computed once per KG version.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from clips.clip import Clip
from engine.assess import prepare
from engine.evidence import ModelFinding
from kg import KnowledgeGraph
from models import checkpoint
from models.graph_encoder import graph_inputs
from models.inputs import repetition_inputs, stack

SPAN_MASS = (0.1, 0.9)
"""A finding's time span: where the rule's attention over the repetition passes these shares of its mass."""


class Predictor:
    """A loaded checkpoint that turns clips into model findings; ``source`` names it and its training graph."""

    def __init__(self, path: str | Path, kg: KnowledgeGraph) -> None:
        self.path = Path(path)
        self.model, self.record = checkpoint.load(self.path, kg)
        self.source = f"model {self.path.name} (trained on KG {self.record['kg_version']})"
        self._nodes: dict[str, dict[str, torch.Tensor]] = {}

    def nodes(self, kg: KnowledgeGraph) -> dict[str, torch.Tensor]:
        """Node embeddings of ``kg``, cached per version (a new version says what changed, once)."""
        if kg.version not in self._nodes:
            if kg.version != self.record["kg_version"] and self._nodes:
                warnings.warn(checkpoint.GraphChangedWarning(
                    f"{self.path.name}: the graph is now {kg.version}: {checkpoint.changes(self.record, kg)}"),
                    stacklevel=2)
            with torch.no_grad():
                self._nodes = {kg.version: self.model.node_embeddings(graph_inputs(kg))}
        return self._nodes[kg.version]

    @torch.no_grad()
    def findings(self, kg: KnowledgeGraph, clip: Clip, min_confidence: float | None = None) -> list[ModelFinding]:
        """One finding per repetition and rule of the clip's action that the model can speak for: a rule it saw
        labelled errors of in training, or one new to it (added to the graph since: zero-shot, from its
        embedding). A rule of its training graph that it never saw an error of is left to the rules (it
        would only repeat "never happens"), so the report keeps saying it was not checked."""
        action = kg.action(clip.action)
        _, rec, reps = prepare(kg, clip, min_confidence)  # cut exactly as the engine cuts them
        inputs = [repetition_inputs(kg, rec, r.start / rec.fps, r.end / rec.fps) for r in reps]
        batch = {k: torch.from_numpy(v) for k, v in stack(inputs).items()}
        logits, attention = self.model(batch, nodes=self.nodes(kg))
        rows = {r: i for i, r in enumerate(graph_inputs(kg)["rule"].node_ids)}
        probability = torch.sigmoid(logits).numpy()
        attention = attention.numpy()
        known, seen = set(self.record["rules"]), set(self.record.get("rules_seen", ()))
        speaks = [r for r in action.rules if r in seen or r not in known]
        out = []
        for k, rep in enumerate(inputs):
            times = np.linspace(*rep.window, attention.shape[-1])
            for rule in speaks:
                mass = np.cumsum(attention[k, rows[rule]])
                lo, hi = (times[min(int(np.searchsorted(mass, q * mass[-1])), len(times) - 1)] for q in SPAN_MASS)
                p = round(float(probability[k, rows[rule]]), 4)
                out.append(ModelFinding(repetition=k + 1, rule=rule, probability=p, source=self.source,
                                        time_span=(round(float(lo), 3), round(float(hi), 3))))
        return out
