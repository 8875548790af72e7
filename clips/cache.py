"""A disk cache of parsed data files, so a dataset's text tables are parsed once, not every epoch.

Parsing a FLEX ``EMG.csv`` (110 000 numbers) costs tens of milliseconds; loading the same array from a
``.npy`` costs a fraction of one (an ``.npz`` costs ten times more: zip bookkeeping and checksums).
Entries live under a folder of the user's choosing (never inside the dataset, which may be read-only or
shared) and mirror the source's path relative to the dataset root. ``<path>.json`` is the entry's
commit record: the cache format, the source's size and modification time as they were *before* it was
parsed (an edit during parsing leaves a stale entry, never a wrong one), the metadata, and the name of
the ``<path>.<token>.npy`` written for it, so concurrent writers never pair one's array with the
other's record. A damaged, stale or unwritable entry is only a miss; the source stays the truth.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np

from flexaqa.clips.base import freeze
from flexaqa.clips.errors import ClipError

logger = logging.getLogger(__name__)

FORMAT = 1
"""Bump when what is stored for a source changes, so older entries become misses."""

T = TypeVar("T")
Packed = tuple[np.ndarray, dict[str, Any]]


class ParsedCache:
    """Values parsed from files under ``root``, kept in ``folder`` as one array plus JSON metadata each."""

    def __init__(self, folder: str | Path, root: str | Path) -> None:
        self.folder, self.root = Path(folder).resolve(), Path(root).resolve()
        if self.folder == self.root or self.root in self.folder.parents:
            raise ClipError("cache_dir", f"{folder} lies inside the dataset {root}; the dataset is never written")
        self._write_failed = False

    def fetch(self, source: Path, parse: Callable[[Path], T], pack: Callable[[T], Packed],
              unpack: Callable[[np.ndarray, dict[str, Any]], T]) -> T:
        """``parse(source)``, or the value cached for this version of ``source``.

        ``pack`` turns a parsed value into (array, JSON-able metadata); ``unpack`` rebuilds it, and may
        raise ClipError on an entry that does not make a valid value (then the source is parsed again).
        The array handed to ``unpack`` is read-only all the way down, so models may share it.
        """
        source = Path(source).resolve()
        stamp = self._stamp(source)
        stored = self._load(source, stamp)
        if stored is not None:
            try:
                return unpack(*stored)
            except ClipError as exc:
                logger.debug("cache entry for %s does not make a valid value (%s); parsing again", source, exc)
        value = parse(source)
        if stamp is not None and self._stamp(source) == stamp:
            self._store(source, stamp, *pack(value))
        return value

    def _entry(self, source: Path) -> Path:
        return self.folder / source.relative_to(self.root)

    @staticmethod
    def _stamp(source: Path) -> list[int] | None:
        try:
            info = source.stat()
        except OSError:
            return None
        return [FORMAT, info.st_size, info.st_mtime_ns]

    def _load(self, source: Path, stamp: list[int] | None) -> Packed | None:
        entry = self._entry(source)
        try:
            note = json.loads(entry.with_name(entry.name + ".json").read_text(encoding="utf-8"))
            if not isinstance(note, dict) or stamp is None or note.get("source") != stamp:
                return None
            name, meta = note.get("array"), note.get("meta")
            if not isinstance(name, str) or Path(name).name != name or not isinstance(meta, dict):
                return None
            array = np.load(entry.with_name(name), allow_pickle=False)
        except (OSError, ValueError, EOFError, RecursionError) as exc:
            logger.debug("no usable cache entry for %s (%s)", source, exc)
            return None
        return freeze(array), meta

    def _store(self, source: Path, stamp: list[int], array: np.ndarray, meta: dict[str, Any]) -> None:
        """Write the array under a fresh name, then the record that names it; a folder that cannot be
        written is reported once, then skipped."""
        if self._write_failed:
            return
        entry = self._entry(source)
        name = f"{entry.name}.{secrets.token_hex(6)}.npy"
        note = json.dumps({"source": stamp, "array": name, "meta": meta})
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            _replace(entry.with_name(name), lambda handle: np.save(handle, array))
            _replace(entry.with_name(entry.name + ".json"), lambda handle: handle.write(note.encode()))
        except OSError as exc:
            self._write_failed = True
            logger.warning("cannot write the parse cache in %s (%s); going on without it", self.folder, exc)
            return
        for old in entry.parent.glob(f"{entry.name}.*.npy"):  # arrays no record names any more
            if old.name != name:
                old.unlink(missing_ok=True)


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
    os.chmod(partial, 0o644)  # readable by whoever may share the cache, like any file the user writes
    os.replace(partial, path)
