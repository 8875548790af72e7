"""What every front end does, once: find and load the graph in force, check a rule file, open and assess a clip.

The command line and the service are thin layers over these functions, so a bad ontology folder, an
unknown action or language, or a clip that disagrees with its options gives the same message in both.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from kg import KnowledgeGraph, LiveGraph, UnknownIdError
from kg.graph import default_root
from kg.loader import place_file, read_turtle

if TYPE_CHECKING:
    from clips.clip import Clip
    from engine.report import Assessment

ONTOLOGY_ENV = "FLEXAQA_ONTOLOGY"


def ontology_root(explicit: str | Path | None = None) -> Path:
    """The ontology folder: ``explicit`` (a flag or setting), else ``$FLEXAQA_ONTOLOGY``, else the shipped one."""
    chosen = explicit or os.environ.get(ONTOLOGY_ENV)
    return Path(chosen) if chosen else default_root()


def graph_checks() -> list:
    """The engine's checks of a graph, beyond SHACL: detectors name features, joints and muscles it knows."""
    from engine.detectors import check_detectors

    return [check_detectors]


def load_graph(root: str | Path | None = None, overrides: Mapping[str, str] | None = None) -> KnowledgeGraph:
    """The ontology under ``root`` (see :func:`ontology_root`), validated by SHACL and the engine's checks."""
    return KnowledgeGraph.load(ontology_root(root), overrides, checks=graph_checks())


def live_graph(root: str | Path | None = None) -> LiveGraph:
    """A :class:`LiveGraph` over the ontology folder, with the engine's checks on every edit."""
    return LiveGraph(ontology_root(root), checks=graph_checks())


def check_rule_file(path: Path, root: str | Path | None = None) -> KnowledgeGraph:
    """The graph the ontology would become with ``path`` in place of its namesake (or as a new action
    file); raises the parse or SHACL errors that would reject it. Nothing is written."""
    root = ontology_root(root)
    return load_graph(root, {place_file(path, root): read_turtle(path, str(path))})


def languages(kg: KnowledgeGraph) -> list[str]:
    """Language tags in which the graph has coaching text for every error type."""
    tags = [set(e.feedback.cue) for e in kg.error_types.values()]
    return sorted(set.intersection(*tags)) if tags else []


def check_language(kg: KnowledgeGraph, lang: str) -> str:
    known = languages(kg)
    if lang not in known:
        raise UnknownIdError(f"unknown language {lang!r}; the knowledge graph has coaching text in {', '.join(known)}")
    return lang


def open_clip(kg: KnowledgeGraph, path: str | Path, action: str | None = None, fps: float | None = None,
              **options: object) -> tuple[Clip, float | None]:
    """A clip from a file (see :func:`clips.files.load_clip` for the options), its action checked against
    the graph before the file is read, and the frame rate assumed for it (None when the file or ``fps`` gave
    one), which :func:`assess_clip` states in the report."""
    from clips.files import assumed_fps, load_clip

    if action is not None:
        kg.action(action)
    clip = load_clip(path, action=action, fps=fps, **options)
    kg.action(clip.action)
    return clip, assumed_fps(path, fps)


def assess_clip(kg: KnowledgeGraph, clip: Clip, lang: str = "en", explain: bool = False,
                assumed_fps: float | None = None) -> Assessment:
    """Score a clip against the rules in force and coach it in ``lang``; ``assumed_fps`` (from
    :func:`open_clip`) is said in the report's notes."""
    from engine.assess import assess

    return assess(kg, clip, lang=check_language(kg, lang), explain=explain, assumed_fps=assumed_fps)
