"""The clip as every reader of it sees it, made once: cleaned skeleton, band-passed sEMG, the recording the
features read, the repetitions and their key-step spans, and how a 2D view was read.

The rules (:mod:`engine.assess`), the learned scorer (``models.predict``) and the report page all read the
same :class:`Prepared` value, so a clip assessed with the model and drawn as a page is cleaned, filtered and
cut once, and every reader speaks of the same repetition ``k``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from flexaqa.clips.cleaning import SideUsed, clean_keypoints
from flexaqa.clips.clip import Clip
from flexaqa.clips.emg import EMG, envelope, normalise, pair_references, preprocess
from flexaqa.clips.errors import ClipError
from flexaqa.clips.layouts import get_layout, is_camera
from flexaqa.clips.segmentation import Repetition, repetitions
from flexaqa.clips.skeleton import Skeleton, fill_gaps
from flexaqa.engine.features import Recording
from flexaqa.engine.report import ViewReport
from flexaqa.engine.timeline import Span, key_step_spans
from flexaqa.kg import KnowledgeGraph


@dataclass(frozen=True)
class Prepared:
    """One clip, prepared for a graph (:func:`prepare`); ``min_confidence`` is the keypoint cut it was made with
    (None: the layout's own)."""

    clip: Clip
    skeleton: Skeleton | None
    """The cleaned skeleton (:func:`clean_skeleton`) the rules and the segmentation read."""
    emg: EMG | None
    """The band-passed sEMG the envelopes are taken from; None without sEMG or without a montage to map it on."""
    recording: Recording
    repetitions: list[Repetition]
    spans: list[dict[str, Span]]
    """Per repetition, where each key step of the action lies (:func:`engine.timeline.key_step_spans`)."""
    view: ViewReport | None
    """How a 2D view was read; None for a 3D skeleton or none."""
    min_confidence: float | None
    prepare_ms: float
    """How long preparing took: the report's ``segment_ms`` however many readers share it."""


def prepare(kg: KnowledgeGraph, clip: Clip, min_confidence: float | None = None) -> Prepared:
    """``clip`` as every reader sees it; ``min_confidence`` overrides the skeleton layout's keypoint cut."""
    clock = time.perf_counter()
    action = kg.action(clip.action)
    skeleton, sides = clean_skeleton(clip.skeleton, min_confidence) if clip.skeleton is not None else (None, {})
    filtered = _filtered(kg, clip)
    rec = recording_of(kg, clip, skeleton, sides, filtered)
    reps = repetitions(skeleton, clip.emg, action.first_moving_phase == "Eccentric")
    spans = [key_step_spans(kg, action.id, rep.start, rep.turn, rep.end) for rep in reps]
    view = None if skeleton is None or skeleton.is_3d else _view(rec, skeleton, min_confidence)
    return Prepared(clip=clip, skeleton=skeleton, emg=filtered, recording=rec, repetitions=reps, spans=spans,
                    view=view, min_confidence=min_confidence, prepare_ms=(time.perf_counter() - clock) * 1000)


def as_prepared(kg: KnowledgeGraph, clip: Clip | Prepared, min_confidence: float | None = None) -> Prepared:
    """``clip`` prepared, or as given when it already is (then ``min_confidence`` must be None or its own)."""
    if not isinstance(clip, Prepared):
        return prepare(kg, clip, min_confidence)
    if min_confidence is not None and min_confidence != clip.min_confidence:
        raise ValueError(f"the clip was prepared with min_confidence={clip.min_confidence}, not {min_confidence}")
    return clip


def clip_of(clip: Clip | Prepared) -> Clip:
    """The clip as read from its file, prepared or not: what a reader of the raw input (a manifest, video
    frames) looks at."""
    return clip.clip if isinstance(clip, Prepared) else clip


def clean_skeleton(skeleton: Skeleton,
                   min_confidence: float | None = None) -> tuple[Skeleton, dict[str, SideUsed]]:
    """The skeleton the rules and the segmentation read, and the side kept per limb: a pose detector's
    keypoints cleaned (``clips.cleaning``; ``min_confidence`` overrides the layout's), others gap-filled."""
    if is_camera(skeleton.layout) or min_confidence is not None:
        cleaned = clean_keypoints(skeleton, min_confidence)
        return cleaned.skeleton, dict(cleaned.sides)
    filled, _ = fill_gaps(skeleton, max_gap=max(2, int(0.2 * skeleton.fps)))
    return filled, {}


def recording_of(kg: KnowledgeGraph, clip: Clip, skeleton: Skeleton | None = None,
                 sides: Mapping[str, SideUsed] | None = None, filtered: EMG | None = None) -> Recording:
    """What the features read: the cleaned ``skeleton`` (see :func:`clean_skeleton`; cleaned here when not
    given) and the envelope of the ``filtered`` sEMG (band-passed here when not given) mapped onto the montage."""
    positions, fps, ears, toes = None, None, None, None
    if skeleton is None and clip.skeleton is not None:
        skeleton, sides = clean_skeleton(clip.skeleton)
    if skeleton is not None:
        positions, fps, ears = skeleton.positions, skeleton.fps, skeleton.ears
        toes = get_layout(skeleton.layout).tracks_toes
    env, rate, channels = None, None, None
    if clip.emg is not None:
        filtered = filtered if filtered is not None else _filtered(kg, clip)
        if filtered is not None:
            raw = envelope(filtered)
            channels = {(c.muscle, c.side.lower()): c.index - 1 for c in kg.action(clip.action).emg_channels}
            env, rate = normalise(raw, mvc=pair_references(raw, channels)).samples, raw.sampling_rate
        fps = fps or clip.emg.sampling_rate
    if fps is None:
        raise ClipError("clip", "a skeleton or an sEMG recording is needed to assess form (video needs the pose extra)")
    return Recording(positions=positions, fps=fps, envelope=env, emg_rate=rate, channels=channels,
                     sides=dict(sides or {}), ears=ears, toes_tracked=toes)


def _filtered(kg: KnowledgeGraph, clip: Clip) -> EMG | None:
    """The clip's sEMG band-passed, when its action has a montage to read it with; a recording with fewer
    channels than the montage names is an error."""
    if clip.emg is None:
        return None
    montage = kg.action(clip.action).emg_channels
    need = max((c.index for c in montage), default=0)
    if clip.emg.samples.shape[1] < need:
        raise ClipError("emg.samples", f"{clip.emg.samples.shape[1]} channel(s), but the montage of "
                        f"{clip.action} in the knowledge graph has {need} (fkg:emgChannel)")
    return preprocess(clip.emg, mains_hz=None) if need > 0 else None


def _view(rec: Recording, skeleton: Skeleton, min_confidence: float | None) -> ViewReport:
    """How a 2D view was read: which way the lifter faces and the cue that told it, the side kept per limb."""
    facing = rec.facing
    told = None if isinstance(facing, str) else facing
    return ViewReport(
        facing=told.image_side() if told else None, facing_cue=told.cue if told else None,
        facing_reason=facing if isinstance(facing, str) else None, sides=rec.sides,
        min_confidence=get_layout(skeleton.layout).min_confidence if min_confidence is None else min_confidence,
        toes_estimated=list(rec.estimated_toes), x_scale=round(rec.x_scale, 3),
        x_scale_unknown=rec.x_scale_unknown,
    )
