"""Ontology versions that passed SHACL, remembered per user, so a command line run skips validating files
it has validated before (pySHACL and rdflib cost about a second to import and run on every start).

Only a clean pass is remembered, keyed by the content hash of every Turtle file and the shapes
(:attr:`kg.loader.ParsedOntology.version`) and by the pySHACL release, so any edit, or a new validator,
is validated again. The folder is ``$FLEXAQA_CACHE_DIR``, else ``$XDG_CACHE_HOME/flexaqa``, else
``~/.cache/flexaqa``; when it cannot be written, nothing is remembered and every load validates.
"""

from __future__ import annotations

import logging
import os
from importlib.metadata import version as release
from pathlib import Path

log = logging.getLogger(__name__)


def _marker(ontology_version: str) -> Path:
    base = os.environ.get("FLEXAQA_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
                                                         ) / "flexaqa"
    return Path(base) / "shapes-passed" / f"{ontology_version}-pyshacl-{release('pyshacl')}"


def passed(ontology_version: str) -> bool:
    """Whether these exact files passed SHACL before, with this validator."""
    return _marker(ontology_version).is_file()


def remember(ontology_version: str) -> None:
    """Note a clean pass; a cache folder that cannot be written is only logged."""
    marker = _marker(ontology_version)
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError as exc:
        log.debug("SHACL pass not remembered in %s: %s", marker.parent, exc)
