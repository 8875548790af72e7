"""What every front end does, once: find and load the graph in force, check a rule file, open and assess a clip.

The command line and the service are thin layers over these functions (through the one
:class:`api.assessor.Assessor` each builds), so a bad ontology folder, an
unknown action or language, or a clip that disagrees with its options gives the same message in both.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Unpack

from pydantic import BaseModel, Field

from flexaqa.extras import MissingExtraError, require
from flexaqa.kg import KnowledgeGraph, LiveGraph, UnknownIdError
from flexaqa.kg.graph import default_root
from flexaqa.kg.loader import parse_file, place_file, read_turtle

if TYPE_CHECKING:
    from flexaqa.clips.clip import Clip
    from flexaqa.clips.files import LoadOptions
    from flexaqa.engine.evidence import ModelFinding
    from flexaqa.engine.prepared import Prepared
    from flexaqa.engine.report import Assessment
    from flexaqa.models.predict import Predictor

ONTOLOGY_ENV = "FLEXAQA_ONTOLOGY"
EXAMPLE_CLIP = Path(__file__).resolve().parent / "examples" / "example_set.npz"
"""The example set that ships with flexaqa: what ``flexaqa assess`` and the service's example page assess."""
logger = logging.getLogger(__name__)


def ontology_root(explicit: str | Path | None = None) -> Path:
    """The ontology folder: ``explicit`` (a flag or setting), else ``$FLEXAQA_ONTOLOGY``, else the shipped one."""
    chosen = explicit or os.environ.get(ONTOLOGY_ENV)
    return Path(chosen) if chosen else default_root()


def graph_checks() -> list:
    """Checks of a graph beyond SHACL: detectors name features, joints and muscles the engine knows, and fault
    motions degrees of freedom the synthetic body has."""
    from flexaqa.engine.detectors import check_detectors
    from flexaqa.synth.body import check_degrees_of_freedom

    return [check_detectors, check_degrees_of_freedom]


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
    text = read_turtle(path, str(path))
    parse_file(path, str(path), text)  # a syntax error names the file as given, not the place it would take
    return load_graph(root, {place_file(path, root): text})


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
              **options: Unpack[LoadOptions]) -> tuple[Clip, float | None]:
    """A clip from a file (see :func:`clips.files.load_clip` for the options), its action checked against
    the graph before the file is read, and the frame rate assumed for it (None when the file or ``fps`` gave
    one), which :func:`assess_clip` states in the report."""
    from flexaqa.clips.files import assumed_fps, load_clip

    if action is not None:
        kg.action(action)
    clip = load_clip(path, action=action, fps=fps, **options)
    kg.action(clip.action)
    return clip, assumed_fps(path, fps)


def assess_clip(kg: KnowledgeGraph, clip: Clip | Prepared, lang: str = "en", explain: bool = False,
                assumed_fps: float | None = None, model_findings: Sequence[ModelFinding] = (),
                min_confidence: float | None = None) -> Assessment:
    """Score a clip against the rules in force and coach it in ``lang``; ``assumed_fps`` (from
    :func:`open_clip`) is said in the report's notes. ``model_findings`` (:func:`model_findings`: the command
    line and the service ask for them unless told ``--no-model``) speak for the rules whose detectors
    abstained. ``min_confidence`` overrides the keypoint layout's default cut
    (``clips.layouts.Layout.min_confidence``)."""
    from flexaqa.engine.assess import assess

    check_language(kg, lang)
    return assess(kg, clip, lang=lang, explain=explain, assumed_fps=assumed_fps, model_findings=model_findings,
                  min_confidence=min_confidence)


@functools.cache
def shipped_manifest() -> dict | None:
    """The shipped checkpoint's manifest (:mod:`models.manifest`), read once per process as the checkpoint is
    loaded once: a batch of clips does not reopen the archive for each."""
    from flexaqa.models import manifest

    return manifest.read(DEFAULT_CHECKPOINT)


_SAID: set[str] = set()
"""Why the model declined clips, as already logged by this process (said once, not once per clip)."""


def model_findings(kg: KnowledgeGraph, clip: Clip | Prepared, min_confidence: float | None = None
                   ) -> Sequence[ModelFinding]:
    """What the shipped checkpoint says of the clip's repetitions (of the repetitions the engine cut, when
    given the clip prepared); none when it cannot serve, or when its manifest (read without torch) says it
    does not speak for this clip, as for a 2D view of a model trained on 3D skeletons: the rules then answer
    at the rules' own speed, and the log says why, once per process."""
    from flexaqa.engine.prepared import clip_of
    from flexaqa.models import manifest

    header = shipped_manifest()
    reason = None if header is None else manifest.declines(header, clip_of(clip))
    if reason is not None:
        if reason not in _SAID:
            _SAID.add(reason)
            logger.warning("%s: %s", DEFAULT_CHECKPOINT.name, reason)
        return ()
    predictor = load_model(kg)
    if predictor is None:
        return ()
    from flexaqa.models.checkpoint import CheckpointError

    try:
        return predictor.findings(kg, clip, min_confidence)
    except (CheckpointError, ImportError) as exc:  # a graph edited since it loaded, that it cannot read
        logger.warning("%s: assessing with the rules only", exc)
        return ()


DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[1] / "models" / "checkpoints" / "default.pt"
_PREDICTORS: dict[Path, Predictor | None] = {}
"""Loaded checkpoints, and None for one that could not serve (said once, not retried clip after clip)."""
_LOADING = threading.Lock()
"""Held while a checkpoint loads: two first requests of a service load it once."""


def load_model(kg: KnowledgeGraph, path: str | Path | None = None) -> Predictor | None:
    """The learned scorer of ``path`` (default: the shipped checkpoint), loaded once per process; None when
    it cannot serve (no file, no torch, a checkpoint for other node or edge types): the caller then assesses
    with the rules only, and the log says why. torch is imported here, never on the rule path. One predictor
    serves every version of the graph (it keeps the node embeddings of the graph in force), so a service whose
    rules are edited all day holds one model, not one per edit."""
    path = Path(path) if path is not None else DEFAULT_CHECKPOINT
    with _LOADING:
        if path not in _PREDICTORS:
            try:
                require("model", "the learned scorer")
                from flexaqa.models.checkpoint import CheckpointError
                from flexaqa.models.predict import Predictor
            except MissingExtraError as exc:
                logger.warning("%s; assessing with the rules only", exc)
                return None
            except ImportError as exc:
                logger.warning("learned scorer unavailable (%s): assessing with the rules only", exc)
                return None
            try:
                _PREDICTORS[path] = Predictor(path, kg)
            except (CheckpointError, ImportError) as exc:  # ImportError: another graph, and no PyTorch Geometric
                logger.warning("%s: assessing with the rules only", exc)
                _PREDICTORS[path] = None
        return _PREDICTORS[path]


class ClipLine(BaseModel):
    """One clip of a batch, as one CSV row or JSON line: the score, the errors found, what abstained, or why
    the clip could not be assessed (``problem``; the batch goes on)."""

    file: str
    action: str | None = None
    score: float | None = None
    score_low: float | None = None
    score_high: float | None = None
    repetitions: int | None = None
    errors: list[str] = Field(default_factory=list, description="Error types found, heaviest first, once each")
    abstained: list[str] = Field(default_factory=list, description="Rules no detector could check, once each")
    facing: str | None = Field(default=None, description="Where a 2D view's lifter faces, and the cue (right/face)")
    problem: str | None = Field(default=None, description="Why the clip was not assessed")


CLIP_LINE_FIELDS = tuple(ClipLine.model_fields)


def clip_paths(inputs: Sequence[str | Path]) -> list[Path]:
    """The clips named by ``inputs``: files as given; a folder of OpenPose frames (``*_keypoints.json``) is one
    clip; any other folder gives its clip files and OpenPose sub-folders, in name order."""
    from flexaqa.clips.errors import ClipError
    from flexaqa.clips.files import SKELETON_SUFFIXES, VIDEO_SUFFIXES

    found: list[Path] = []
    for given in map(Path, inputs):
        if not given.is_dir() or _is_openpose_folder(given):
            found.append(given)
            continue
        inside = [p for p in sorted(given.iterdir()) if (p.is_file() and p.suffix.lower() in
                  (*SKELETON_SUFFIXES, *VIDEO_SUFFIXES)) or (p.is_dir() and _is_openpose_folder(p))]
        if not inside:
            raise ClipError("clip.folder", f"{given} holds no clip files ({' '.join(SKELETON_SUFFIXES)} or a video) "
                            "and no OpenPose frames (*_keypoints.json)")
        found += inside
    return found


def _is_openpose_folder(folder: Path) -> bool:
    return next(folder.glob("*_keypoints.json"), None) is not None


def clip_line(path: str | Path, report: Assessment) -> ClipLine:
    """The batch line of one assessed clip."""
    errors = [cue.error_type for cue in report.coaching]
    for rep in report.repetitions:
        errors += [e.error_type for e in rep.errors if e.error_type not in errors]
    abstained = list(dict.fromkeys(s.rule for rep in report.repetitions for s in rep.skipped))
    view = report.view
    facing = f"{view.facing}/{view.facing_cue}" if view is not None and view.facing else None
    return ClipLine(file=str(path), action=report.action, score=report.score, score_low=report.score_low,
                    score_high=report.score_high, repetitions=len(report.repetitions), errors=errors,
                    abstained=abstained, facing=facing)

