"""One repetition as fixed-size model inputs: skeleton and sEMG envelope resampled onto ``STEPS`` time steps.

The engine's own preprocessing (:func:`engine.prepared.recording_of`: gap filling, band-pass, envelope, MVC
normalisation) is used, so the model and the rules see the same signals. The skeleton is moved so the
pelvis of the first step is the origin and scaled by the torso length (body size drops out); a 2D
skeleton gets a zero depth. sEMG channels carry their muscle's row in the FKG ``muscle`` table and side.
Resampling drops how long the repetition took, so its duration in seconds is kept beside it (tempo faults).
A scorer built with video (:attr:`models.scorer.ScorerConfig.video`) also reads each repetition's views
(:func:`with_frames`); one without never decodes or stacks a frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flexaqa.clips.clip import Clip
from flexaqa.clips.errors import ClipError
from flexaqa.clips.layouts import JOINT_INDEX, JOINTS
from flexaqa.clips.skeleton import median_torso_length
from flexaqa.engine.features import Recording
from flexaqa.engine.prepared import recording_of
from flexaqa.kg import KnowledgeGraph
from flexaqa.kg.export import node_table
from flexaqa.models.frames import stack_frames

STEPS = 32
"""Time steps per repetition: the FLEX skeleton has about 100 frames per rep; 32 keep a key step's shape."""
MAX_CHANNELS = 16
"""sEMG channels a montage may have (the FKG's largest has 12)."""
MODALITIES = ("skeleton", "emg")
"""What every scorer reads, in the order of the ``present`` columns."""
VIDEO = "video"
"""The opt-in modality: a scorer built with video has a third ``present`` column, whether any view is present."""


def modalities(video: bool) -> tuple[str, ...]:
    """The modalities of a scorer with or without video, in the order of its ``present`` columns."""
    return (*MODALITIES, VIDEO) if video else MODALITIES


@dataclass(frozen=True)
class RepInputs:
    """Arrays of one repetition (see the module docstring); ``window`` is its (start, end) in seconds."""

    skeleton: np.ndarray  # (STEPS, 21, 3)
    envelope: np.ndarray  # (STEPS, MAX_CHANNELS)
    muscle: np.ndarray  # (MAX_CHANNELS,) int
    side: np.ndarray  # (MAX_CHANNELS,) int
    channel_mask: np.ndarray  # (MAX_CHANNELS,) bool
    present: np.ndarray  # (len(MODALITIES),) bool
    window: tuple[float, float]
    duration: np.ndarray  # (1,) float32 seconds


def repetition_inputs(kg: KnowledgeGraph, rec: Recording, start_s: float, end_s: float) -> RepInputs:
    """Inputs for the stretch ``start_s``..``end_s`` (seconds) of a recording (:func:`engine.prepared.recording_of`)."""
    times = np.linspace(start_s, max(end_s, start_s + 1e-3), STEPS)
    skeleton = np.zeros((STEPS, len(JOINTS), 3), dtype=np.float32)
    envelope = np.zeros((STEPS, MAX_CHANNELS), dtype=np.float32)
    muscle = np.zeros(MAX_CHANNELS, dtype=np.int64)
    side = np.zeros(MAX_CHANNELS, dtype=np.int64)
    mask = np.zeros(MAX_CHANNELS, dtype=bool)
    if rec.positions is not None:
        positions = rec.square  # a 2D view's normalised x stretched to picture-height units, as the rules read it
        xyz = _resample(positions.reshape(len(positions), -1), times * rec.fps)
        xyz = xyz.reshape(STEPS, len(JOINTS), -1)
        xyz = xyz - np.nan_to_num(xyz[0, JOINT_INDEX["pelvis"]])
        xyz = np.nan_to_num(xyz / (median_torso_length(positions) or 1.0))
        skeleton[..., : xyz.shape[2]] = xyz
    if rec.envelope is not None and rec.channels:
        if len(rec.channels) > MAX_CHANNELS:
            raise ClipError("emg.samples", f"{len(rec.channels)} montage channels; the model reads at most "
                            f"{MAX_CHANNELS}")
        rows = {m: i for i, m in enumerate(node_table(kg)["muscle"])}
        env = _resample(rec.envelope, times * rec.emg_rate)
        for slot, ((name, side_name), column) in enumerate(sorted(rec.channels.items(), key=lambda kv: kv[1])):
            envelope[:, slot] = np.nan_to_num(env[:, column])
            muscle[slot], side[slot], mask[slot] = rows[name], int(side_name == "right"), True
    present = np.array([rec.positions is not None, bool(mask.any())])
    return RepInputs(skeleton, envelope, muscle, side, mask, present, (float(times[0]), float(times[-1])),
                     np.array([times[-1] - times[0]], dtype=np.float32))


def clip_inputs(kg: KnowledgeGraph, clip: Clip, spans_s: list[tuple[float, float]]) -> list[RepInputs]:
    """Inputs for each (start, end) second span of ``clip``, preprocessed once."""
    rec = recording_of(kg, clip)
    return [repetition_inputs(kg, rec, a, b) for a, b in spans_s]


def stack(reps: list[RepInputs]) -> dict[str, np.ndarray]:
    """A batch: each field stacked on a new first axis."""
    fields = ("skeleton", "envelope", "muscle", "side", "channel_mask", "present", "duration")
    return {f: np.stack([getattr(r, f) for r in reps]) for f in fields}


def with_frames(batch: dict[str, np.ndarray], views: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """``batch`` (:func:`stack`) with each repetition's :func:`models.frames.repetition_frames` added: ``frames``,
    ``view_mask`` and a last ``present`` column (any view present)."""
    video = stack_frames(views)
    present = np.concatenate([batch["present"], video["view_mask"].any(1, keepdims=True)], axis=1)
    return {**batch, **video, "present": present}


def _resample(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Linear interpolation of (N, K) ``values`` at fractional row positions ``at`` (clamped to the ends)."""
    at = np.clip(at, 0, len(values) - 1)
    lo = np.floor(at).astype(int)
    hi = np.minimum(lo + 1, len(values) - 1)
    frac = (at - lo)[:, None]
    return values[lo] * (1 - frac) + values[hi] * frac
