"""Gather what the report page draws from a clip, its assessments and the graph.

The skeleton is projected onto the lifter's own axes (side-to-side from the hips, forward across them), so
the front and side views hold whichever way the camera or the recording faced; 2D clips are drawn as they
are. The sEMG is the band-passed signal the detectors' envelope is taken from (:class:`engine.prepared.Prepared`),
its envelope thinned for drawing.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from flexaqa.api.report.model import (
    EmgView,
    Envelope,
    GraphRow,
    Highlight,
    Language,
    Projection,
    ReportInput,
    SkeletonView,
    StepSpan,
)
from flexaqa.clips.clip import Clip
from flexaqa.clips.emg import envelope
from flexaqa.clips.layouts import BONES, JOINT_INDEX, JOINTS
from flexaqa.engine.detectors import SIDED_JOINTS
from flexaqa.engine.prepared import Prepared, as_prepared
from flexaqa.engine.report import Assessment
from flexaqa.kg import KnowledgeGraph, in_language

MAX_FRAMES = 1500
"""Longer skeletons are thinned to this many frames: enough to scrub, small enough for one file."""
ENVELOPE_RATE_HZ = 50.0
"""Envelope samples per second on the page (an envelope holds nothing above a few hertz)."""
MUSCLE_LABELS = """SELECT ?muscle ?label WHERE { ?muscle a fkg:Muscle ; rdfs:label ?label
  FILTER (LANGMATCHES(LANG(?label), ?lang)) }"""
PHASE_LABELS = """SELECT ?phase ?label WHERE { ?phase a fkg:Phase ; rdfs:label ?label
  FILTER (LANGMATCHES(LANG(?label), ?lang)) }"""
SIDE_LABELS = """SELECT ?side ?label WHERE { { ?side a fkg:Side } UNION { BIND (fkg:LeadingSide AS ?side) }
  ?side rdfs:label ?label FILTER (LANGMATCHES(LANG(?label), ?lang)) }"""
"""The sides a finding can name: left, right, or the leading one (a detector that follows the front leg)."""
PAGE_WORDS = "Page"
"""Messages whose id starts so are the page's own words; the rest of the id is the page's key for it."""


def build_input(kg: KnowledgeGraph, clip: Clip | Prepared, assessments: Mapping[str, Assessment], lang: str,
                rule_base: str | None = None, min_confidence: float | None = None) -> ReportInput:
    """The page's data: ``assessments`` of ``clip`` keyed by language (the same verdict worded in each),
    opening in ``lang``; rules link under ``rule_base`` when served, else to the graph's files on disk. Give
    the clip as prepared for the assessments, and its repetitions and spans are the ones they were made on."""
    prepared = as_prepared(kg, clip, min_confidence)
    clip = prepared.clip
    first = assessments[lang]
    fps = prepared.recording.fps
    steps = [StepSpan(repetition=rep.index + 1, key_step=s.key_step, phase=s.phase, start=s.start / fps,
                      end=s.stop / fps)
             for rep, spans in zip(prepared.repetitions, prepared.spans, strict=True) for s in spans.values()]
    highlights = [Highlight(repetition=r.index, rule=e.rule, start=e.time_span[0], end=e.time_span[1],
                            joints=_joints(kg, e.rule, e.side))
                  for r in first.repetitions for e in r.errors]
    durations = [d for d in (clip.skeleton and clip.skeleton.duration, clip.emg and clip.emg.duration) if d]
    return ReportInput(
        lang=lang,
        languages={code: Language(assessment=a, graph=[GraphRow.model_validate(row) for row in kg.run_named(
                       "action_graph", action=clip.action, lang=code)],
                       muscles={str(row["muscle"]): str(row["label"]) for row in kg.select(MUSCLE_LABELS, lang=code)},
                       phases={str(row["phase"]): str(row["label"]) for row in kg.select(PHASE_LABELS, lang=code)},
                       sides={str(row["side"]).removesuffix("Side").lower(): str(row["label"])  # as findings name it
                              for row in kg.select(SIDE_LABELS, lang=code)},
                       words=_page_words(kg, code))
                   for code, a in assessments.items()},
        duration=max(durations), skeleton=_skeleton_view(clip), emg=_emg_view(kg, prepared), steps=steps,
        highlights=highlights, rule_base=rule_base, ontology_uri=kg.root.resolve().as_uri() + "/",
    )


def _page_words(kg: KnowledgeGraph, lang: str) -> dict[str, str]:
    """The page's words in ``lang`` (English where a word has no text in it), keyed as the page looks them up."""
    return {m[len(PAGE_WORDS)].lower() + m[len(PAGE_WORDS) + 1:]: in_language(texts, lang)
            for m, texts in kg.messages.items() if m.startswith(PAGE_WORDS)}


def _joints(kg: KnowledgeGraph, rule: str, side: str | None) -> list[int]:
    """Internal joints a rule's detector reads, on the side it found the fault (both when it names none)."""
    detector = kg.rules[rule].detector
    names: list[str] = []
    for joint in detector.joints if detector else ():
        if joint in SIDED_JOINTS:
            names += [f"{s}_{joint}" for s in (("left", "right") if side not in ("left", "right") else (side,))]
        elif joint in JOINT_INDEX:
            names.append(joint)
    return [JOINT_INDEX[n] for n in names]


def _skeleton_view(clip: Clip) -> SkeletonView | None:
    if clip.skeleton is None:
        return None
    positions = clip.skeleton.positions
    step = max(1, -(-positions.shape[0] // MAX_FRAMES))
    positions = positions[::step]
    if clip.skeleton.is_3d:
        across = np.nanmedian(positions[:, JOINT_INDEX["right_hip"]] - positions[:, JOINT_INDEX["left_hip"]], axis=0)
        across = np.array([across[0], 0.0, across[2]])
        norm = np.linalg.norm(across)
        across = across / norm if np.isfinite(norm) and norm > 0 else np.array([1.0, 0.0, 0.0])
        forward = np.cross(across, [0.0, 1.0, 0.0])
        height = positions[..., 1]
        views = {"front": np.stack([positions @ across, height], axis=-1),
                 "side": np.stack([positions @ forward, height], axis=-1)}
    else:
        views = {"image": positions}
    bones = [(JOINT_INDEX[a], JOINT_INDEX[b]) for a, b in BONES]
    return SkeletonView(fps=clip.skeleton.fps / step, joints=list(JOINTS), bones=bones,
                        projections=[Projection(name=name, points=_points(xy)) for name, xy in views.items()])


def _points(xy: np.ndarray) -> list[list[tuple[float, float] | None]]:
    rounded = np.round(xy, 4)
    return [[None if np.isnan(p).any() else (float(p[0]), float(p[1])) for p in frame] for frame in rounded]


def _emg_view(kg: KnowledgeGraph, prepared: Prepared) -> EmgView | None:
    if prepared.emg is None:
        return None
    montage = kg.action(prepared.clip.action).emg_channels
    env = envelope(prepared.emg, rate_hz=ENVELOPE_RATE_HZ)
    peaks = np.maximum(env.samples.max(axis=0), 1e-12)
    scaled = np.round(env.samples / peaks, 3)
    return EmgView(rate=env.sampling_rate, envelopes=[
        Envelope(muscle=c.muscle, side=c.side.lower(), values=scaled[:, c.index - 1].tolist()) for c in montage])
