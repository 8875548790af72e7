"""The graph in force, replaced atomically only by a valid successor."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from kg.graph import Check, KnowledgeGraph

log = logging.getLogger(__name__)


class LiveGraph:
    """Holds the current :class:`KnowledgeGraph`; readers never see a half-loaded or invalid graph.

    ``reload`` parses and validates everything first and swaps the reference only on success, so a
    broken edit raises (with file, line and SHACL messages) while the rules in force stay in force.
    """

    def __init__(self, root: Path | None = None, checks: Sequence[Check] = ()) -> None:
        self._lock = threading.Lock()
        self._checks = tuple(checks)
        self._current = KnowledgeGraph.load(root, checks=self._checks)
        self.root = self._current.root

    @property
    def current(self) -> KnowledgeGraph:
        return self._current

    def check(self, overrides: Mapping[str, str] | None = None) -> KnowledgeGraph:
        """Build the graph the files would give (with ``overrides`` applied) without putting it in force."""
        return KnowledgeGraph.load(self.root, overrides, self._checks)

    def reload(self) -> KnowledgeGraph:
        """Load the files on disk again and put them in force; on any error keep the old graph and raise."""
        with self._lock:
            return self._swap(self.check())

    def write(self, relative_path: str, text: str) -> KnowledgeGraph:
        """Validate ``text`` as the new content of one ontology file, then write it atomically and put it
        in force. Nothing is written when the result would be invalid."""
        target = self.resolve(relative_path)
        with self._lock:
            candidate = self.check({target.relative_to(self.root.resolve()).as_posix(): text})
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=target.parent, suffix=".tmp",
                                             delete=False) as tmp:
                tmp.write(text)
            os.replace(tmp.name, target)
            return self._swap(candidate)

    def resolve(self, relative_path: str) -> Path:
        """The file a relative path names inside the ontology folder; refuses anything outside it."""
        target = (self.root / relative_path).resolve()
        if not relative_path.endswith(".ttl") or not target.is_relative_to(self.root.resolve()):
            raise ValueError(f"{relative_path!r} is not a .ttl file inside the ontology folder")
        return target

    def _swap(self, candidate: KnowledgeGraph) -> KnowledgeGraph:
        if candidate.version != self._current.version:
            log.info("FKG %s -> %s", self._current.version, candidate.version)
        self._current = candidate
        return candidate
