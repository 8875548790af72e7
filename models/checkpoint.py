"""Checkpoints: weights plus what they mean (config, metrics, modalities, the KG version and rules trained on,
per-rule decision thresholds chosen on a validation split, and the node embeddings of the training graph).

Loading against a different graph works (rule queries come from the graph), but it warns and says what
changed: rules added or removed, error types new to the model. "Different" is judged on what the model reads
of the graph (:func:`kg.export.digest`), so an edit of coaching words or a detector threshold does not count.
Against the training graph, :func:`load_scorer` uses the stored node embeddings and never imports PyTorch
Geometric.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch

from flexaqa.kg import KnowledgeGraph
from flexaqa.kg.export import digest, node_table
from flexaqa.models import manifest
from flexaqa.models.scorer import ClipScorer, FKGScorer, ScorerConfig

log = logging.getLogger(__name__)
FORMAT = 2


class GraphChangedWarning(UserWarning):
    """The checkpoint was trained on another version of the knowledge graph."""


class CheckpointError(ValueError):
    """A file that is not a flexaqa model checkpoint, or one this graph cannot use; the message says why."""


def save(path: str | Path, model: FKGScorer, kg: KnowledgeGraph, metrics: dict, extra: dict | None = None) -> Path:
    """Write the checkpoint atomically; weights and node embeddings are stored in float16 to keep shipped files
    small (the embeddings are computed from the float16 weights, so both paths give the same numbers)."""
    from flexaqa.models.graph_encoder import graph_inputs

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    rounded = FKGScorer(model.config, *_graph_shape(kg))
    rounded.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    with torch.no_grad():
        embedded = rounded.eval().node_embeddings(graph_inputs(kg))
    nodes = node_table(kg)
    payload = {"format": FORMAT, "config": model.config.to_dict(), "state_dict": state, "metrics": metrics,
               "node_embeddings": {t: embedded[t].half() for t in FKGScorer.NODE_TYPES},
               "modalities": list(model.modalities), "kg_version": kg.version, "graph_digest": digest(kg),
               "rules": nodes["rule"],
               "error_types": nodes["error_type"], **(extra or {})}
    partial = path.with_name(f".{path.name}.partial")
    torch.save(payload, partial)
    manifest.write(partial, payload)
    partial.replace(path)
    return path


def load(path: str | Path, kg: KnowledgeGraph) -> tuple[FKGScorer, dict]:
    """The model with its graph encoder (eval mode, float32) and the checkpoint's record; warns with
    :class:`GraphChangedWarning` when ``kg`` is not the graph it was trained on."""
    payload = _read(path)
    model = FKGScorer(ScorerConfig(**payload["config"]), *_graph_shape(kg))
    _load_weights(path, model, payload["state_dict"])
    _warn_if_changed(path, payload, kg)
    return model.eval(), _record(payload)


def load_scorer(path: str | Path, kg: KnowledgeGraph) -> tuple[ClipScorer, dict, dict[str, torch.Tensor]]:
    """For inference: the scorer, the record and the node embeddings of ``kg``. On the graph it was trained on
    these are the stored ones and PyTorch Geometric is not imported; on another graph the graph encoder
    computes them (and :func:`load` warns)."""
    payload = _read(path)
    if not same_graph(payload, kg):
        from flexaqa.models.graph_encoder import graph_inputs

        scorer, record = load(path, kg)
        with torch.no_grad():
            return scorer, record, scorer.node_embeddings(graph_inputs(kg))
    model = ClipScorer(ScorerConfig(**payload["config"]))
    _load_weights(path, model, {k: v for k, v in payload["state_dict"].items() if not k.startswith("graph.")})
    nodes = {t: v.float() for t, v in payload["node_embeddings"].items()}
    return model.eval(), _record(payload), nodes


def same_graph(record: dict, kg: KnowledgeGraph) -> bool:
    """Whether ``kg`` is, to the model, the graph the checkpoint was trained on: the same exported graph
    (:func:`kg.export.digest`), or for a checkpoint written before digests, the same KG version."""
    if "graph_digest" in record:
        return record["graph_digest"] == digest(kg)
    return record["kg_version"] == kg.version


def _graph_shape(kg: KnowledgeGraph) -> tuple[tuple[list[str], list[tuple[str, str, str]]], int]:
    """(metadata, input feature size) of ``kg``'s graph, as :class:`FKGScorer` takes them."""
    from flexaqa.models.graph_encoder import graph_inputs

    graph = graph_inputs(kg)
    return graph.metadata(), graph["rule"].x.shape[1]


def _record(payload: dict) -> dict:
    return {k: v for k, v in payload.items() if k not in ("state_dict", "node_embeddings")}


def _load_weights(path: str | Path, model: ClipScorer, state: dict[str, torch.Tensor]) -> None:
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: does not fit this graph's node and edge types ({exc})") from None


def _warn_if_changed(path: str | Path, payload: dict, kg: KnowledgeGraph) -> None:
    if not same_graph(payload, kg):
        warnings.warn(GraphChangedWarning(f"{Path(path).name} was trained on knowledge graph "
                                          f"{payload['kg_version']}, this is {kg.version}: {changes(payload, kg)}"),
                      stacklevel=3)


def _read(path: str | Path) -> dict:
    """The checkpoint's payload, checked to be one of this format."""
    try:
        payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except Exception as exc:  # torch raises many kinds for a damaged file
        raise CheckpointError(f"{path}: not a readable checkpoint ({exc.__class__.__name__})") from None
    needed = ("config", "state_dict", "node_embeddings", "kg_version", "rules", "error_types")
    missing = [k for k in needed if not isinstance(payload, dict) or k not in payload]
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or missing:
        raise CheckpointError(f"{path}: not a flexaqa model checkpoint of format {FORMAT}"
                              + (f" (missing {', '.join(missing)})" if missing else ""))
    return payload


def changes(payload: dict, kg: KnowledgeGraph) -> str:
    """What differs between the graph a checkpoint was trained on and ``kg``, in a few words."""
    nodes = node_table(kg)
    parts = []
    for kind, key in (("rule", "rules"), ("error type", "error_types")):
        before, now = set(payload[key]), set(nodes[key.removesuffix("s")])
        for verb, ids in (("added", sorted(now - before)), ("removed", sorted(before - now))):
            if ids:
                parts.append(f"{len(ids)} {kind}(s) {verb} ({', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''})")
    return "; ".join(parts) or "same rules and error types, other weights, labels or edges"
