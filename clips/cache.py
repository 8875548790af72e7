"""A disk cache of parsed data files, so a dataset's text tables are parsed once, not every epoch.

Parsing a FLEX ``EMG.csv`` (110 000 numbers) costs tens of milliseconds; loading the same array from a
``.npy`` costs a fraction of one (an ``.npz`` costs ten times more: zip bookkeeping and checksums).
Entries live under a folder of the user's choosing (never inside the dataset, which may be read-only or
shared) and mirror the source's path relative to the dataset root: ``<path>.npy`` holds the array and
``<path>.json`` its metadata and the source's size and modification time, so an edited source is parsed
again. The JSON is written last, so an interrupted write is a stale entry. A damaged or unwritable
entry is only a miss; the source stays the truth.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

logger = logging.getLogger(__name__)


class ParsedCache:
    """Arrays (with JSON metadata) parsed from files under ``root``, kept in ``folder``."""

    def __init__(self, folder: str | Path, root: str | Path) -> None:
        self.folder, self.root = Path(folder), Path(root)
        self._write_failed = False

    def _entry(self, source: Path) -> Path:
        return self.folder / source.relative_to(self.root)

    @staticmethod
    def _stamp(source: Path) -> list[int]:
        info = source.stat()
        return [info.st_size, info.st_mtime_ns]

    def load(self, source: Path) -> tuple[np.ndarray, dict[str, Any]] | None:
        """The array (read-only, so models share it instead of copying) and metadata stored for ``source``,
        or None when absent, stale or unreadable."""
        entry = self._entry(source)
        try:
            note = json.loads(entry.with_name(entry.name + ".json").read_text(encoding="utf-8"))
            if not isinstance(note, dict) or note.get("source") != self._stamp(source):
                return None
            array = np.load(entry.with_name(entry.name + ".npy"), allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            logger.debug("no usable cache entry for %s (%s)", source, exc)
            return None
        array.flags.writeable = False
        return array, dict(note.get("meta") or {})

    def store(self, source: Path, array: np.ndarray, meta: dict[str, Any]) -> None:
        """Keep ``array`` and ``meta`` (JSON-able) for ``source``; a folder that cannot be written is
        reported once, then skipped."""
        if self._write_failed:
            return
        entry = self._entry(source)
        note = json.dumps({"source": self._stamp(source), "meta": meta})
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            self._replace(entry.with_name(entry.name + ".npy"), lambda handle: np.save(handle, array))
            self._replace(entry.with_name(entry.name + ".json"), lambda handle: handle.write(note.encode()))
        except OSError as exc:
            self._write_failed = True
            logger.warning("cannot write the parse cache in %s (%s); going on without it", self.folder, exc)

    @staticmethod
    def _replace(path: Path, write: Callable[[IO[bytes]], object]) -> None:
        """Write through a temporary file in the same folder, then rename: readers never see half a file."""
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
            partial = Path(handle.name)
            try:
                write(handle)
            except BaseException:
                handle.close()
                partial.unlink(missing_ok=True)
                raise
        os.replace(partial, path)
