"""What every command shares: the ``--ontology`` option resolved and the graph loaded through ``api.core``."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path

from flexaqa.api import core
from flexaqa.kg import KnowledgeGraph


def load_graph(args: argparse.Namespace, root: Path | None = None,
               overrides: Mapping[str, str] | None = None) -> KnowledgeGraph:
    """The ontology of ``--ontology`` (or ``root``), validated by SHACL and by the engine's detector checks."""
    return core.load_graph(root or args.ontology, overrides)


def writable_file(text: str) -> Path:
    """An argparse ``type=`` for an output file: checked while parsing, so a path that cannot be written stops
    the command before minutes of work rather than after (its folder exists and is writable; it is no folder)."""
    path = Path(text)
    folder = path.parent
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder; give a file name")
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {path}: no such folder {folder}")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise argparse.ArgumentTypeError(f"cannot write {path}: permission denied")
    return path
