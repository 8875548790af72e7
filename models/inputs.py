"""One prepared repetition as fixed-size arrays on ``STEPS`` time steps: what each modality of
:mod:`models.modalities` reads of it (the skeleton's and the sEMG's readers are here, the views' in
:mod:`models.frames`).

The engine's own preprocessing (:func:`engine.prepared.recording_of`: gap filling, band-pass, envelope, MVC
normalisation) is used, so the model and the rules see the same signals. The skeleton is moved so the
pelvis of the first step is the origin and scaled by the torso length (body size drops out); a 2D
skeleton gets a zero depth. sEMG channels carry their muscle's row in the FKG ``muscle`` table and side.
Resampling drops how long the repetition took, so its duration in seconds is kept beside it (tempo faults).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flexaqa.clips.clip import Clip
from flexaqa.clips.errors import ClipError
from flexaqa.clips.layouts import JOINT_INDEX, JOINTS
from flexaqa.clips.skeleton import median_torso_length
from flexaqa.engine.features import Recording
from flexaqa.kg import KnowledgeGraph
from flexaqa.kg.export import node_table

STEPS = 32
"""Time steps per repetition: the FLEX skeleton has about 100 frames per rep; 32 keep a key step's shape."""
MAX_CHANNELS = 16
"""sEMG channels a montage may have (the FKG's largest has 12)."""


@dataclass(frozen=True)
class Stretch:
    """One prepared repetition: the clip's recording as the engine preprocessed it, the clip itself (its views
    are not in the recording) and the seconds ``start_s``..``end_s`` the repetition spans."""

    kg: KnowledgeGraph
    rec: Recording
    clip: Clip | None
    start_s: float
    end_s: float

    @property
    def times(self) -> np.ndarray:
        """(STEPS,) seconds of the model's time steps (a repetition of no length is given a millisecond)."""
        return np.linspace(self.start_s, max(self.end_s, self.start_s + 1e-3), STEPS)


def skeleton_inputs(stretch: Stretch) -> tuple[dict[str, np.ndarray], bool]:
    """``skeleton`` (STEPS, 21, 3) of the stretch (zeros without one), and whether the clip has a skeleton."""
    rec = stretch.rec
    skeleton = np.zeros((STEPS, len(JOINTS), 3), dtype=np.float32)
    positions = rec.square  # a 2D view's normalised x stretched to picture-height units, as the rules read it
    if positions is not None:
        xyz = _resample(positions.reshape(len(positions), -1), stretch.times * rec.fps)
        xyz = xyz.reshape(STEPS, len(JOINTS), -1)
        xyz = xyz - np.nan_to_num(xyz[0, JOINT_INDEX["pelvis"]])
        xyz = np.nan_to_num(xyz / (median_torso_length(positions) or 1.0))
        skeleton[..., : xyz.shape[2]] = xyz
    return {"skeleton": skeleton}, positions is not None


def emg_inputs(stretch: Stretch) -> tuple[dict[str, np.ndarray], bool]:
    """``envelope`` (STEPS, MAX_CHANNELS), each channel's ``muscle`` row and ``side`` (MAX_CHANNELS,) int and
    ``channel_mask`` (MAX_CHANNELS,) bool, and whether any channel is there."""
    rec = stretch.rec
    envelope = np.zeros((STEPS, MAX_CHANNELS), dtype=np.float32)
    muscle = np.zeros(MAX_CHANNELS, dtype=np.int64)
    side = np.zeros(MAX_CHANNELS, dtype=np.int64)
    mask = np.zeros(MAX_CHANNELS, dtype=bool)
    if rec.envelope is not None and rec.channels:
        if len(rec.channels) > MAX_CHANNELS:
            raise ClipError("emg.samples", f"{len(rec.channels)} montage channels; the model reads at most "
                            f"{MAX_CHANNELS}")
        rows = {m: i for i, m in enumerate(node_table(stretch.kg)["muscle"])}
        env = _resample(rec.envelope, stretch.times * rec.emg_rate)
        for slot, ((name, side_name), column) in enumerate(sorted(rec.channels.items(), key=lambda kv: kv[1])):
            envelope[:, slot] = np.nan_to_num(env[:, column])
            muscle[slot], side[slot], mask[slot] = rows[name], int(side_name == "right"), True
    return {"envelope": envelope, "muscle": muscle, "side": side, "channel_mask": mask}, bool(mask.any())


def _resample(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Linear interpolation of (N, K) ``values`` at fractional row positions ``at`` (clamped to the ends)."""
    at = np.clip(at, 0, len(values) - 1)
    lo = np.floor(at).astype(int)
    hi = np.minimum(lo + 1, len(values) - 1)
    frac = (at - lo)[:, None]
    return values[lo] * (1 - frac) + values[hi] * frac
