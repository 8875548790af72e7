"""Ontology versions that passed SHACL, remembered per user, so a command line run skips validating files
it has validated before (pySHACL and rdflib cost about a second to import and run on every start).

Only a clean pass is remembered, keyed by the content hash of every Turtle file and the shapes
(:attr:`kg.loader.ParsedOntology.version`) and of the validator: :mod:`kg.validation`'s own code and the
pySHACL and pyoxigraph releases it runs on (it evaluates the SPARQL constraints itself), so any edit, or a
changed validator, is validated again. The folder is ``$FLEXAQA_CACHE_DIR``, else ``$XDG_CACHE_HOME/flexaqa``, else
``~/.cache/flexaqa``; when it cannot be written, nothing is remembered and every load validates.
"""

from __future__ import annotations

import hashlib
import logging
import os
from functools import cache
from importlib.metadata import version as release
from pathlib import Path

log = logging.getLogger(__name__)


@cache
def _validator() -> str:
    """A digest of what decides a SHACL verdict besides the files."""
    code = (Path(__file__).with_name("validation.py")).read_bytes()
    stamp = code + f"pyshacl {release('pyshacl')} pyoxigraph {release('pyoxigraph')}".encode()
    return hashlib.sha256(stamp).hexdigest()[:12]


def _marker(ontology_version: str) -> Path:
    base = os.environ.get("FLEXAQA_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
                                                         ) / "flexaqa"
    return Path(base) / "shapes-passed" / f"{ontology_version}-{_validator()}"


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
