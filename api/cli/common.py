"""What every command shares: the ``--ontology`` option resolved and the graph loaded through ``api.core``."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from api import core
from kg import KnowledgeGraph


def load_graph(args: argparse.Namespace, root: Path | None = None,
               overrides: Mapping[str, str] | None = None) -> KnowledgeGraph:
    """The ontology of ``--ontology`` (or ``root``), validated by SHACL and by the engine's detector checks."""
    return core.load_graph(root or args.ontology, overrides)
