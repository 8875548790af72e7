"""Checkpoints: weights plus what they mean (config, metrics, modalities, the KG version and rules trained on).

Loading against a different graph works (rule queries come from the graph), but it warns and says what
changed: rules added or removed, error types new to the model.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch

from kg import KnowledgeGraph
from kg.export import node_table
from models.graph_encoder import graph_inputs
from models.inputs import MODALITIES
from models.scorer import FKGScorer, ScorerConfig

log = logging.getLogger(__name__)
FORMAT = 1


class GraphChangedWarning(UserWarning):
    """The checkpoint was trained on another version of the knowledge graph."""


class CheckpointError(ValueError):
    """A file that is not a flexaqa model checkpoint, or one this graph cannot use; the message says why."""


def save(path: str | Path, model: FKGScorer, kg: KnowledgeGraph, metrics: dict, extra: dict | None = None) -> Path:
    """Write the checkpoint atomically; weights are stored in float16 to keep shipped files small."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    nodes = node_table(kg)
    payload = {"format": FORMAT, "config": model.config.to_dict(), "state_dict": state, "metrics": metrics,
               "modalities": list(MODALITIES), "kg_version": kg.version, "rules": nodes["rule"],
               "error_types": nodes["error_type"], **(extra or {})}
    partial = path.with_name(f".{path.name}.partial")
    torch.save(payload, partial)
    partial.replace(path)
    return path


def load(path: str | Path, kg: KnowledgeGraph) -> tuple[FKGScorer, dict]:
    """The model (eval mode, float32) and the checkpoint's record; warns with :class:`GraphChangedWarning` when
    ``kg`` is not the graph it was trained on."""
    try:
        payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a damaged file
        raise CheckpointError(f"{path}: not a readable checkpoint ({exc.__class__.__name__})") from None
    needed = ("config", "state_dict", "kg_version", "rules", "error_types")
    missing = [k for k in needed if not isinstance(payload, dict) or k not in payload]
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or missing:
        raise CheckpointError(f"{path}: not a flexaqa model checkpoint of format {FORMAT}"
                              + (f" (missing {', '.join(missing)})" if missing else ""))
    graph = graph_inputs(kg)
    model = FKGScorer(ScorerConfig(**payload["config"]), graph.metadata(), graph["rule"].x.shape[1])
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()})
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: does not fit this graph's node and edge types ({exc})") from None
    if payload["kg_version"] != kg.version:
        warnings.warn(GraphChangedWarning(f"{Path(path).name} was trained on knowledge graph "
                                          f"{payload['kg_version']}, this is {kg.version}: {changes(payload, kg)}"),
                      stacklevel=2)
    return model.eval(), {k: v for k, v in payload.items() if k != "state_dict"}


def changes(payload: dict, kg: KnowledgeGraph) -> str:
    """What differs between the graph a checkpoint was trained on and ``kg``, in a few words."""
    nodes = node_table(kg)
    parts = []
    for kind, key in (("rule", "rules"), ("error type", "error_types")):
        before, now = set(payload[key]), set(nodes[key.removesuffix("s")])
        for verb, ids in (("added", sorted(now - before)), ("removed", sorted(before - now))):
            if ids:
                parts.append(f"{len(ids)} {kind}(s) {verb} ({', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''})")
    return "; ".join(parts) or "same rules and error types, other weights, labels or detectors"
