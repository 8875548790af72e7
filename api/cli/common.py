"""What every command shares: where the ontology is, and how it is loaded and checked."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path

from engine.detectors import check_detectors
from kg import KnowledgeGraph


def ontology_root(args: argparse.Namespace) -> Path | None:
    """``--ontology``, else ``$FLEXAQA_ONTOLOGY``, else None (the ontology shipped with flexaqa)."""
    root = args.ontology or os.environ.get("FLEXAQA_ONTOLOGY")
    return Path(root) if root else None


def load_graph(args: argparse.Namespace, root: Path | None = None,
               overrides: Mapping[str, str] | None = None) -> KnowledgeGraph:
    """The ontology validated by SHACL and by the engine's detector checks (joints, features, muscles)."""
    return KnowledgeGraph.load(root or ontology_root(args), overrides, checks=[check_detectors])
