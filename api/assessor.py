"""One assessor for every front end: open a clip, prepare it once, ask the model, assess it, draw its page.

An :class:`Assessor` is built once per command-line run or per service from where the graph comes from,
whether the learned scorer speaks, and the keypoint cut; the command line and the routes only read and
write. A clip is prepared once (:class:`engine.prepared.Prepared`) and heard by the model once
(:class:`Examined`), however many of the JSON report and the page are made from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

from flexaqa.api import core
from flexaqa.kg import KnowledgeGraph, UnknownIdError

if TYPE_CHECKING:
    from flexaqa.api.report import ReportInput
    from flexaqa.clips.clip import Clip
    from flexaqa.clips.files import LoadOptions
    from flexaqa.engine.evidence import ModelFinding
    from flexaqa.engine.prepared import Prepared
    from flexaqa.engine.report import Assessment


@dataclass(frozen=True)
class Examined:
    """A clip prepared for one graph and what the model said of it: what :meth:`Assessor.assess` and
    :meth:`Assessor.report` read, so the two see the same repetitions and findings."""

    kg: KnowledgeGraph
    prepared: Prepared
    findings: Sequence[ModelFinding]
    assumed_fps: float | None
    """A frame rate the file did not carry (:func:`core.open_clip`), said in the report's notes."""


class Assessor:
    """Assess clips against the graph ``graph()`` returns (the one in force, for a service whose rules are
    edited), with the shipped learned scorer when ``model``; ``min_confidence`` overrides the keypoint
    layout's cut for every clip unless a call gives its own."""

    def __init__(self, graph: Callable[[], KnowledgeGraph], model: bool = True,
                 min_confidence: float | None = None) -> None:
        self.graph, self.model, self.min_confidence = graph, model, min_confidence

    @classmethod
    def on(cls, kg: KnowledgeGraph, model: bool = True, min_confidence: float | None = None) -> Assessor:
        """An assessor of one loaded graph (a command-line run)."""
        return cls(lambda: kg, model, min_confidence)

    def open(self, path: str | Path, action: str | None = None, fps: float | None = None,
             kg: KnowledgeGraph | None = None, **options: Unpack[LoadOptions]) -> tuple[Clip, float | None]:
        """A clip file opened and checked against the graph (:func:`core.open_clip`), and its assumed frame rate."""
        return core.open_clip(kg or self.graph(), path, action=action, fps=fps, **options)

    def examine(self, clip: Clip, assumed_fps: float | None = None, kg: KnowledgeGraph | None = None,
                min_confidence: float | None = None) -> Examined:
        """``clip`` prepared for ``kg`` (default: :attr:`graph`) and heard by the model, once."""
        from flexaqa.engine.prepared import prepare

        kg = kg or self.graph()
        prepared = prepare(kg, clip, self.min_confidence if min_confidence is None else min_confidence)
        findings = core.model_findings(kg, prepared) if self.model else ()
        return Examined(kg=kg, prepared=prepared, findings=findings, assumed_fps=assumed_fps)

    def assess(self, seen: Examined, lang: str = "en", explain: bool = False) -> Assessment:
        """The assessment of an examined clip in ``lang`` (:func:`core.assess_clip`)."""
        return core.assess_clip(seen.kg, seen.prepared, lang=lang, explain=explain, assumed_fps=seen.assumed_fps,
                                model_findings=seen.findings)

    def report(self, seen: Examined, lang: str = "en", rule_base: str | None = None) -> ReportInput:
        """What the report page draws: the examined clip assessed with explanations in every language of the
        graph (the page switches language without asking again), its skeleton, sEMG, key-step spans and the
        action's part of the graph; it opens in ``lang``. Rules link under ``rule_base`` (``/rules/`` when
        served), else to the graph's files on disk."""
        from flexaqa.api.report import build_input
        from flexaqa.engine.assess import assess_in_languages

        core.check_language(seen.kg, lang)
        assessments = assess_in_languages(seen.kg, seen.prepared, core.languages(seen.kg), explain=True,
                                          model_findings=seen.findings, assumed_fps=seen.assumed_fps)
        return build_input(seen.kg, seen.prepared, assessments, lang, rule_base)

    def batch(self, paths: Sequence[str | Path], action: str | None = None, lang: str = "en",
              progress: bool = False, **options: Any) -> Iterator[core.ClipLine]:
        """Assess ``paths`` one after another against one graph (``options`` as :func:`core.open_clip` takes
        them), yielding a line per clip as it is done; a clip that cannot be read or assessed gives a line with
        its ``problem`` and the batch goes on. ``progress`` shows a bar on stderr when it is a terminal."""
        from tqdm import tqdm

        from flexaqa.clips.errors import ClipError

        kg = self.graph()
        core.check_language(kg, lang)
        if action is not None:
            kg.action(action)
        for path in tqdm(paths, desc="assess", unit="clip", disable=None if progress else True):
            try:
                report = self.assess(self.examine(*self.open(path, action=action, kg=kg, **options), kg=kg), lang)
            except (ClipError, UnknownIdError) as exc:
                yield core.ClipLine(file=str(path), problem=str(exc))
                continue
            yield core.clip_line(path, report)
