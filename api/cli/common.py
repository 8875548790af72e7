"""What every command shares: where the ontology is."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def ontology_root(args: argparse.Namespace) -> Path | None:
    """``--ontology``, else ``$FLEXAQA_ONTOLOGY``, else None (the ontology shipped with flexaqa)."""
    root = args.ontology or os.environ.get("FLEXAQA_ONTOLOGY")
    return Path(root) if root else None
