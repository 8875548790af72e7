"""Strict Turtle parsing of an ontology folder, remembering which file and line defines each node."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from flexaqa.kg.entities import SourceLocation
from flexaqa.kg.errors import OntologyFolderError, TurtleSyntaxError

SHAPES_FILE = "shapes.ttl"
VOCABULARY_FILE = "fkg.ttl"
"""The classes and properties every other file uses: without it each node breaks a shape, so it is required."""
_STATEMENT_START = re.compile(r"^(<[^>]*>|[A-Za-z][\w.-]*:[\w.-]*|:[\w.-]*)")


@dataclass(frozen=True)
class ParsedOntology:
    """Every triple of the ontology files, the shapes, and where each subject is defined."""

    triples: list[ox.Triple]
    shapes: list[ox.Triple]
    locations: dict[str, SourceLocation]
    files: tuple[str, ...]
    version: str


def ontology_files(root: Path) -> list[Path]:
    """Data files in a stable order (vocabulary first), without the shapes file."""
    files = [p for p in sorted(root.rglob("*.ttl")) if p.name != SHAPES_FILE]
    return sorted(files, key=lambda p: (p.name != VOCABULARY_FILE, p.relative_to(root).as_posix()))


def parse_file(path: Path, display: str, text: str | None = None) -> tuple[list[ox.Triple], dict[str, str]]:
    """Parse one Turtle file strictly; a syntax error names ``display`` with its line and column."""
    data = path.read_bytes() if text is None else text.encode("utf-8")
    parser = ox.parse(data, format=ox.RdfFormat.TURTLE, base_iri=path.resolve().as_uri())
    try:
        triples = [q.triple for q in parser]
    except SyntaxError as exc:
        raise TurtleSyntaxError(display, exc.lineno, exc.offset, str(exc.msg)) from None
    return triples, dict(parser.prefixes)


def locate_subjects(text: str, prefixes: dict[str, str], display: str) -> dict[str, SourceLocation]:
    """First line where each node opens a statement (our files start statements at column 1)."""
    found: dict[str, SourceLocation] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _STATEMENT_START.match(line)
        if match is None or line.startswith("@"):
            continue
        token = match.group(1)
        if token.startswith("<"):
            node = token[1:-1]
        else:
            prefix, _, local = token.partition(":")
            if prefix not in prefixes:
                continue
            node = prefixes[prefix] + local
        found.setdefault(node, SourceLocation(display, number))
    return found


def read_turtle(path: Path, display: str) -> str:
    """A Turtle file's text; a missing, unreadable or non-UTF-8 file is a :class:`TurtleSyntaxError` naming it."""
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise TurtleSyntaxError(display, None, None, f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise TurtleSyntaxError(display, None, None, f"not UTF-8 text (byte {exc.start}): not a Turtle file") from None


def check_root(root: Path) -> None:
    """An ontology folder exists and holds the shapes every edit is validated against and the vocabulary."""
    if not root.is_dir():
        raise OntologyFolderError(f"{root} is not a folder: give an ontology folder (--ontology or FLEXAQA_ONTOLOGY)")
    for required in (SHAPES_FILE, VOCABULARY_FILE):
        if not (root / required).is_file():
            raise OntologyFolderError(f"{root} has no {required}: not an ontology folder")


def place_file(path: Path, root: Path) -> str:
    """Where an edited Turtle file stands in the ontology under ``root``: its own place when it lies inside,
    else the file of the same name, else a new action file."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        namesakes = [f for f in ontology_files(root) if f.name == path.name]
        return namesakes[0].relative_to(root).as_posix() if namesakes else f"actions/{path.name}"


def parse_ontology(root: Path, overrides: dict[str, str] | None = None, skip: Collection[str] = ()) -> ParsedOntology:
    """Parse every file under ``root``; ``overrides`` maps a relative path to new text not yet on disk, ``skip``
    names files left out (entries a caller found are not Turtle files of the folder)."""
    check_root(root)
    overrides = overrides or {}
    triples: list[ox.Triple] = []
    locations: dict[str, SourceLocation] = {}
    digest = hashlib.sha256()
    paths = {rel: p for p in ontology_files(root) if (rel := p.relative_to(root).as_posix()) not in skip}
    for rel in overrides:
        if rel != SHAPES_FILE:
            paths.setdefault(rel, root / rel)
    shapes: list[ox.Triple] = []
    ordered = sorted(paths, key=lambda r: (r != VOCABULARY_FILE, r))
    for rel in [*ordered, SHAPES_FILE]:
        path = paths.get(rel, root / rel)
        text = overrides[rel] if rel in overrides else read_turtle(path, rel)
        parsed, prefixes = parse_file(path, rel, text)
        digest.update(rel.encode() + b"\0" + text.encode("utf-8") + b"\0")
        if rel == SHAPES_FILE:
            shapes = parsed
            continue
        triples.extend(parsed)
        for node, loc in locate_subjects(text, prefixes, rel).items():
            locations.setdefault(node, loc)
    return ParsedOntology(triples, shapes, locations, tuple(ordered), digest.hexdigest()[:12])
