"""sEMG consistent with the motion: each montage channel bursts while its muscle works.

Activation is high in the concentric phase, lower in the eccentric one and near rest otherwise; the raw
signal is band-limited noise (20-450 Hz) modulated by that activation, as surface EMG looks.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from flexaqa.clips.flex import EMG_RATE_HZ
from flexaqa.kg import Action
from flexaqa.synth.motion import Rep

REST, ECCENTRIC, CONCENTRIC = 0.05, 0.45, 0.9
SMOOTH = signal.butter(2, 8.0, fs=EMG_RATE_HZ, output="sos")
BAND = signal.butter(4, (20.0, 450.0), btype="bandpass", fs=EMG_RATE_HZ, output="sos")


def activation(action: Action, rep: Rep, gains: dict[tuple[str, str], float] | None = None,
               delays: dict[str, float] | None = None) -> np.ndarray:
    """(samples, channels) activation envelopes in [0, 1], in montage channel order.

    ``gains`` scales one (muscle, side); ``delays`` holds back a muscle's switch-on by seconds.
    """
    frames = len(rep.dofs["trunk"])
    samples = int(round(frames / rep.fps * EMG_RATE_HZ))
    t = np.arange(samples) / EMG_RATE_HZ
    first_level = CONCENTRIC if action.first_moving_phase == "Concentric" else ECCENTRIC
    second_level = ECCENTRIC if first_level == CONCENTRIC else CONCENTRIC
    start, turn, end = (f / rep.fps for f in (rep.start, rep.turn, rep.end))
    channels = sorted(action.emg_channels, key=lambda c: c.index)
    out = np.full((samples, len(channels)), REST)
    for i, ch in enumerate(channels):
        on = start + (delays or {}).get(ch.muscle, 0.0)
        level = np.where((t >= on) & (t < turn), first_level, REST)
        level = np.where((t >= turn) & (t < end), second_level, level)
        out[:, i] = level * (gains or {}).get((ch.muscle, ch.side.lower()), 1.0)
    return np.clip(signal.sosfiltfilt(SMOOTH, out, axis=0), 0.0, None)


def raw_emg(envelope: np.ndarray, rng: np.random.Generator, amplitude_uv: float = 400.0,
            noise_uv: float = 5.0) -> np.ndarray:
    """Band-limited noise carriers modulated by ``envelope``, plus sensor noise, in microvolts."""
    carrier = signal.sosfilt(BAND, rng.standard_normal(envelope.shape), axis=0)
    carrier /= carrier.std(axis=0, keepdims=True)
    return amplitude_uv * envelope * carrier + noise_uv * rng.standard_normal(envelope.shape)
