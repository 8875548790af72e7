"""The graph in force, replaced atomically only by a valid successor.

Several processes may serve one ontology folder: each holds its own :class:`LiveGraph`, edits are
serialised between them with an advisory lock on the folder, and every file's content digest serves as
its version (an HTTP ETag), so an editor can say which version it meant to replace. The process that
validates a set of files notes its version in the folder (:data:`VALIDATED`), so the others put the same
files in force without running SHACL again (0.1 s instead of about 1 s).

The folder is read in one pass (:meth:`LiveGraph.scan`) and the graph is built from that snapshot, so what is
in force is exactly what was read. An entry that is not a Turtle file of the folder (a link out of it, a pipe,
an unreadable or non-UTF-8 file, one that vanished while read) is skipped with its reason, and the rest
still loads: one stray file never stops edits from being applied.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import stat
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from flexaqa.kg.errors import KGError, OntologyFolderError
from flexaqa.kg.graph import Check, KnowledgeGraph, default_root
from flexaqa.kg.loader import SHAPES_FILE, ParsedOntology, check_root, parse_ontology

log = logging.getLogger(__name__)

ABSENT = "absent"
"""The digest :meth:`LiveGraph.digest` gives a file that does not exist (for creating a file only if new)."""
VALIDATED = ".validated"
"""File in the ontology folder naming the version (content hash) of the files last validated by any process."""


class EditConflictError(KGError):
    """The file changed (or appeared) since the version the editor started from; nothing was written."""


@dataclass(frozen=True)
class RejectedEdit:
    """An edit that was refused, kept so an operator can see why the files and the graph in force differ."""

    origin: str
    """``write`` (an edit through :meth:`LiveGraph.write`) or ``disk`` (files changed on disk)."""
    file: str | None
    message: str
    at: float
    """Unix time of the refusal."""


@dataclass(frozen=True)
class Folder:
    """The ontology folder as read in one pass: each Turtle file's text and digest, and why each other
    ``.ttl`` entry was skipped."""

    texts: dict[str, str]
    digests: dict[str, str]
    skipped: dict[str, str]


class _Skipped(Exception):
    """A folder entry that is not a Turtle file of the folder; the message says why."""


class LiveGraph:
    """Holds the current :class:`KnowledgeGraph`; readers never see a half-loaded or invalid graph.

    ``reload`` parses and validates everything first and swaps the reference only on success, so a
    broken edit raises (with file, line and SHACL messages) while the rules in force stay in force.
    """

    def __init__(self, root: Path | None = None, checks: Sequence[Check] = ()) -> None:
        self._lock = threading.Lock()
        self._checks = tuple(checks)
        self.root = Path(root) if root is not None else default_root()
        self.skipped: dict[str, str] = {}
        """Entries of the folder left out of the graph, each with why (as of the last read of the folder)."""
        self.folder_problem: str | None = None
        """Why the folder could not be read at all the last time (gone, no shapes): nothing reloads meanwhile."""
        self.last_rejected: RejectedEdit | None = None
        folder = self._read()
        self._current = self._build(folder)
        self._seen = folder.digests, folder.skipped  # as last loaded or last refused: unchanged, not reloaded

    @property
    def current(self) -> KnowledgeGraph:
        return self._current

    def check(self, overrides: Mapping[str, str] | None = None) -> KnowledgeGraph:
        """Build the graph the files would give (with ``overrides`` applied) without putting it in force."""
        return self._build(self.scan(), overrides)

    def scan(self) -> Folder:
        """Read every ``.ttl`` entry of the folder once; entries that are not Turtle files of it are skipped
        with their reason. Raises :class:`OntologyFolderError` when the folder itself is unusable (gone, or
        its shapes, which guard every edit, unreadable)."""
        check_root(self.root)
        inside = self.root.resolve()
        texts: dict[str, str] = {}
        digests: dict[str, str] = {}
        skipped: dict[str, str] = {}
        try:
            paths = sorted(self.root.rglob("*.ttl"))
        except OSError as exc:
            raise OntologyFolderError(f"cannot list {self.root}: {exc.strerror}") from None
        for path in paths:
            rel = path.relative_to(self.root).as_posix()
            try:
                data = _entry(path, inside)
                texts[rel] = data.decode("utf-8")
            except _Skipped as exc:
                skipped[rel] = str(exc)
                continue
            except UnicodeDecodeError as exc:
                skipped[rel] = f"not UTF-8 text (byte {exc.start}): not a Turtle file"
                continue
            digests[rel] = content_digest(data)
        if SHAPES_FILE in skipped:
            raise OntologyFolderError(f"{SHAPES_FILE}, which every edit is validated against, is "
                                      f"{skipped[SHAPES_FILE]}")
        return Folder(texts, digests, skipped)

    def reload(self) -> KnowledgeGraph:
        """Load the files on disk again and put them in force; on any error keep the old graph and raise.

        Files unchanged since they were last loaded (or last refused) are not loaded again, so every
        process watching one folder reacts to a change once, whoever made it."""
        with self._lock:
            folder = self._read()
            seen = folder.digests, folder.skipped
            if seen == self._seen:
                return self._current
            self._seen = seen
            try:
                elsewhere = self._validated_elsewhere(folder)
                candidate = elsewhere or self._build(folder)
            except KGError as exc:
                self._reject("disk", None, exc)
                raise
            return self._swap(candidate, "files validated by another process" if elsewhere else "files on disk")

    def write(self, relative_path: str, text: str, expect: str | None = None) -> KnowledgeGraph:
        """Validate ``text`` as the new content of one ontology file, then write it atomically and put it
        in force. Nothing is written when the result would be invalid, or when ``expect`` is given and
        the file's digest on disk is no longer ``expect`` (:data:`ABSENT`: the file must not exist yet)."""
        target = self.resolve(relative_path)
        rel = target.relative_to(self.root.resolve()).as_posix()
        with self._lock, self._folder_lock():
            if expect is not None and (found := self.digest(rel)) != expect:
                raise EditConflictError(f"{rel} has changed since version {expect} (now {found}); nothing was "
                                        "written: fetch it again and reapply the edit")
            folder = self._read()
            try:
                candidate = self._build(folder, {rel: text})
            except KGError as exc:
                self._reject("write", rel, exc)
                raise
            try:
                _write_atomically(self.root / VALIDATED, candidate.version)  # before the file: watchers read it
                _write_atomically(target, text)
            except OSError as exc:
                raise OntologyFolderError(f"cannot write {rel} in {self.root}: {exc.strerror}; nothing changed"
                                          ) from None
            self.skipped = {k: why for k, why in folder.skipped.items() if k != rel}  # a skipped entry rewritten
            self._seen = {**folder.digests, rel: content_digest(text.encode("utf-8"))}, self.skipped
            return self._swap(candidate, f"{rel} written")

    def resolve(self, relative_path: str) -> Path:
        """The file a relative path names inside the ontology folder; refuses anything outside it."""
        try:
            target = (self.root / relative_path).resolve()
        except (OSError, RuntimeError):  # RuntimeError: a loop of links (Python < 3.13)
            target = None
        if not relative_path.endswith(".ttl") or target is None or not target.is_relative_to(self.root.resolve()):
            raise ValueError(f"{relative_path!r} is not a .ttl file inside the ontology folder")
        return target

    def read(self, relative_path: str) -> bytes:
        """The bytes of one file of the folder; OSError when it is missing or not a regular file (a pipe is
        never waited on)."""
        return _read_regular(self.resolve(relative_path))

    def digest(self, relative_path: str) -> str:
        """The file's content digest as it is on disk now (:data:`ABSENT` when there is no such file)."""
        try:
            return content_digest(self.read(relative_path))
        except OSError:  # missing, a folder, below a file, a name too long: no such file to edit
            return ABSENT

    def digests(self) -> dict[str, str]:
        """Each Turtle file of the folder (shapes included, skipped entries not) with its digest."""
        return self.scan().digests

    def _read(self) -> Folder:
        """:meth:`scan`, remembering (and logging) what was skipped and whether the folder could be read."""
        try:
            folder = self.scan()
        except OntologyFolderError as exc:
            if self.folder_problem != str(exc):
                log.error("the ontology folder cannot be read, the graph in force stays: %s", exc)
            self.folder_problem = str(exc)
            raise
        if self.folder_problem is not None:
            log.info("the ontology folder %s can be read again", self.root)
        for rel in sorted(folder.skipped.keys() - self.skipped.keys()):
            log.warning("skipping %s in %s: %s", rel, self.root, folder.skipped[rel])
        self.folder_problem, self.skipped = None, folder.skipped
        return folder

    def _build(self, folder: Folder, overrides: Mapping[str, str] | None = None) -> KnowledgeGraph:
        """The validated graph of a snapshot of the folder, with ``overrides`` (edits not yet written) applied."""
        return KnowledgeGraph.load(self.root, {**folder.texts, **(overrides or {})}, self._checks,
                                   skip=folder.skipped.keys() - (overrides or {}).keys())

    def _validated_elsewhere(self, folder: Folder) -> KnowledgeGraph | None:
        """The graph of the snapshot, unchecked, when another process has validated exactly these files
        (their version is the one noted in :data:`VALIDATED`); None otherwise."""
        try:
            noted = (self.root / VALIDATED).read_text(encoding="utf-8").strip()
            parsed = parse_ontology(self.root, folder.texts, folder.skipped)
        except (OSError, UnicodeDecodeError, KGError):
            return None
        if parsed.version != noted:
            return None
        try:
            return _assemble(self.root, parsed)
        except Exception:  # files that break the reader are checked in full, which says why
            log.warning("files noted as validated could not be read; validating them again", exc_info=True)
            return None

    @contextmanager
    def _folder_lock(self) -> Iterator[None]:
        """Hold an exclusive advisory lock on the folder, so processes sharing it write one at a time."""
        fd = os.open(self.root, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _reject(self, origin: str, file: str | None, exc: KGError) -> None:
        self.last_rejected = RejectedEdit(origin, file, str(exc), time.time())
        log.warning("edit refused (%s%s), the graph in force stays %s:\n%s", origin, f" {file}" if file else "",
                    self._current.version, exc)

    def _swap(self, candidate: KnowledgeGraph, source: str) -> KnowledgeGraph:
        if candidate.version != self._current.version:
            log.info("FKG %s -> %s (%s)", self._current.version, candidate.version, source)
        self._current = candidate
        return candidate


def content_digest(data: bytes) -> str:
    """A file's version, as its ETag carries it."""
    return hashlib.sha256(data).hexdigest()[:32]


def _read_regular(path: Path) -> bytes:
    """The bytes of a regular file; OSError for anything else, without blocking on a pipe."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        with os.fdopen(os.dup(fd), "rb") as file:
            return file.read()
    finally:
        os.close(fd)


def _entry(path: Path, inside: Path) -> bytes:
    """The bytes of one ``.ttl`` entry of the folder ``inside``; raises :class:`_Skipped` saying why it is
    not a Turtle file of the folder."""
    try:
        target = path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a loop of links (Python < 3.13)
        raise _Skipped("a link that leads to itself") from None
    if not target.is_relative_to(inside):
        raise _Skipped("a link to a file outside the ontology folder")
    try:
        return _read_regular(path)
    except FileNotFoundError:
        raise _Skipped("gone when read (deleted meanwhile, or a link to nothing)") from None
    except OSError as exc:
        raise _Skipped(f"unreadable: {exc.strerror}") from None


def _assemble(root: Path, parsed: ParsedOntology) -> KnowledgeGraph:
    """A graph of already-validated files: the store and typed views that :meth:`KnowledgeGraph.load`
    builds, without the SHACL run and engine checks it does first."""
    start = time.perf_counter()
    store = ox.Store()
    store.bulk_extend(ox.Quad(t.subject, t.predicate, t.object) for t in parsed.triples)
    return KnowledgeGraph(root, parsed, store, time.perf_counter() - start)


def _write_atomically(target: Path, text: str) -> None:
    """Replace ``target`` in one step, keeping its permissions; a failed write leaves no temporary file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=target.parent, suffix=".tmp", delete=False) as tmp:
        try:
            tmp.write(text)
            tmp.flush()
            os.chmod(tmp.name, mode)
        except OSError:
            os.unlink(tmp.name)
            raise
    try:
        os.replace(tmp.name, target)
    except OSError:
        os.unlink(tmp.name)
        raise
