"""The modalities a scorer can read, registered once: each names what it reads of a prepared repetition
(:class:`models.inputs.Stretch` -> fixed-size arrays, and whether the clip has it) and the encoder that turns
those arrays into (B, STEPS, hidden) time features. A scorer, its baseline, its training data, its predictions
and the comparison table iterate over :data:`REGISTRY`; a new modality is one entry here (and, if opt-in, a
:class:`~models.scorer.ScorerConfig` field that turns it on).

The order of :data:`REGISTRY` is the order of the ``present`` columns; a checkpoint records the names of the
modalities its scorer was built with (``modalities``). Opt-in modalities are built after every other weight, so
a scorer without them starts from the same weights for the same seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from torch import Tensor, nn

from flexaqa.clips.clip import Clip
from flexaqa.engine.features import Recording
from flexaqa.engine.prepared import recording_of
from flexaqa.kg import KnowledgeGraph
from flexaqa.models.emg_encoder import EMGEncoder
from flexaqa.models.frames import view_inputs
from flexaqa.models.inputs import Stretch, emg_inputs, skeleton_inputs
from flexaqa.models.skeleton_encoder import SkeletonEncoder
from flexaqa.models.video_encoder import VideoEncoder

if TYPE_CHECKING:
    from flexaqa.models.scorer import ScorerConfig


@dataclass(frozen=True)
class Modality:
    """One modality: ``name`` (its ``present`` column, encoder attribute and checkpoint entry), ``label`` (in the
    comparison table), ``read`` (its arrays of one prepared repetition, and whether the clip has it), ``encoder``
    (built from the scorer's sizes) and ``encode`` (encoder, batch, muscle embeddings (M, H) -> (B, T, H)).
    ``opt_in``: built only when the scorer's config asks for it; ``absent``: what is missing when a training
    split never has it (said once, as a warning)."""

    name: str
    label: str
    read: Callable[[Stretch], tuple[dict[str, np.ndarray], bool]]
    encoder: Callable[[ScorerConfig], nn.Module]
    encode: Callable[[nn.Module, dict[str, Tensor], Tensor], Tensor]
    opt_in: bool = False
    absent: str = ""


REGISTRY: tuple[Modality, ...] = (
    Modality("skeleton", "skeleton", skeleton_inputs,
             lambda c: SkeletonEncoder(3, c.hidden, c.joint_channels, c.skeleton_layers),
             lambda enc, batch, _: enc(batch["skeleton"])),
    Modality("emg", "sEMG", emg_inputs, lambda c: EMGEncoder(c.hidden, c.hidden),
             lambda enc, batch, muscles: enc(batch["envelope"], batch["muscle"], batch["side"], batch["channel_mask"],
                                             muscles)),
    Modality("video", "video", view_inputs, lambda c: VideoEncoder(c.hidden),
             lambda enc, batch, _: enc(batch["frames"], batch["view_mask"]),
             opt_in=True, absent="no video views (flexaqa synth --views N writes them)"),
)
BY_NAME = {m.name: m for m in REGISTRY}
MODALITIES = tuple(m.name for m in REGISTRY if not m.opt_in)
"""What every scorer reads, in the order of the ``present`` columns."""


def chosen(opted: Sequence[str] = ()) -> tuple[Modality, ...]:
    """The modalities of a scorer that opted in to ``opted`` (names), in :data:`REGISTRY` order."""
    unknown = set(opted) - {m.name for m in REGISTRY if m.opt_in}
    if unknown:
        raise ValueError(f"not an opt-in modality: {', '.join(sorted(unknown))}")
    return tuple(m for m in REGISTRY if not m.opt_in or m.name in opted)


@dataclass(frozen=True)
class RepInputs:
    """What the ``modalities`` read of one repetition: their ``arrays``, with ``present`` (one column each) and
    ``duration`` (1,) seconds beside them; ``window`` is the repetition's (start, end) in seconds."""

    arrays: dict[str, np.ndarray]
    window: tuple[float, float]


def repetition_inputs(kg: KnowledgeGraph, rec: Recording, start_s: float, end_s: float, clip: Clip | None = None,
                      modalities: Sequence[str] = MODALITIES) -> RepInputs:
    """Inputs for the stretch ``start_s``..``end_s`` (seconds) of a recording (:func:`engine.prepared.recording_of`)
    and its ``clip`` (for what the recording does not hold, the views), as the named ``modalities`` read them."""
    stretch = Stretch(kg, rec, clip, start_s, end_s)
    arrays: dict[str, np.ndarray] = {}
    present = []
    for name in modalities:
        read, has = BY_NAME[name].read(stretch)
        arrays.update(read)
        present.append(has)
    times = stretch.times
    arrays["present"] = np.array(present)
    arrays["duration"] = np.array([times[-1] - times[0]], dtype=np.float32)
    return RepInputs(arrays, (float(times[0]), float(times[-1])))


def clip_inputs(kg: KnowledgeGraph, clip: Clip, spans_s: list[tuple[float, float]],
                modalities: Sequence[str] = MODALITIES) -> list[RepInputs]:
    """Inputs for each (start, end) second span of ``clip``, preprocessed once."""
    rec = recording_of(kg, clip)
    return [repetition_inputs(kg, rec, a, b, clip, modalities) for a, b in spans_s]


def stack(reps: Sequence[RepInputs]) -> dict[str, np.ndarray]:
    """A batch: each array stacked on a new first axis."""
    return {k: np.stack([r.arrays[k] for r in reps]) for k in reps[0].arrays}
