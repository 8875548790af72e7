"""Surface EMG: validation and the standard processing chain (band-pass, notch, envelope, RMS, MDF).

Samples are (N, C) float64: N samples by C channels at ``sampling_rate`` Hz. Every step returns a new
EMG, so steps chain and the rate and channel names travel with the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, field_validator, model_validator
from scipy import signal

from clips.base import ClipModel, as_float_array, check_finite, positive_number
from clips.errors import ClipError

BAND_HZ = (20.0, 450.0)
MIN_RATE_HZ = 500.0
"""Below this the 20-450 Hz surface-EMG band cannot be kept, so the signal is refused rather than mangled."""


class EMG(ClipModel):
    """Multichannel EMG: ``samples`` (N, C), ``sampling_rate`` in Hz, optional channel names and muscles."""

    field_prefix: ClassVar[str] = "emg"

    samples: np.ndarray
    sampling_rate: float
    channels: tuple[str, ...] | None = None
    muscles: dict[str, str] | None = None
    """Channel name -> muscle it watches, when known."""

    @field_validator("samples", mode="before")
    @classmethod
    def _check_samples(cls, value: object) -> np.ndarray:
        data = as_float_array(value, "emg.samples")
        if data.ndim == 1:
            data = data[:, None]
        if data.ndim != 2 or data.shape[0] < 2 or data.shape[1] < 1:
            raise ClipError("emg.samples", f"expected shape (samples >= 2, channels >= 1), got {data.shape}")
        check_finite(data, "emg.samples", allow_nan=False)
        data.flags.writeable = False
        return data

    @field_validator("sampling_rate", mode="before")
    @classmethod
    def _check_rate(cls, value: object) -> float:
        return positive_number(value, "emg.sampling_rate")

    @model_validator(mode="after")
    def _check_channels(self) -> EMG:
        if self.channels is not None:
            if len(self.channels) != self.samples.shape[1]:
                raise ClipError(
                    "emg.channels", f"{len(self.channels)} names for {self.samples.shape[1]} channels"
                )
            if len(set(self.channels)) != len(self.channels):
                raise ClipError("emg.channels", "channel names must be unique")
        if self.muscles is not None:
            unknown = set(self.muscles) - set(self.channel_names)
            if unknown:
                raise ClipError("emg.muscles", f"unknown channels {sorted(unknown)}")
        return self

    @property
    def channel_names(self) -> tuple[str, ...]:
        """Given names, or ch1..chC."""
        return self.channels or tuple(f"ch{i + 1}" for i in range(self.samples.shape[1]))

    @property
    def duration(self) -> float:
        return self.samples.shape[0] / self.sampling_rate

    def channel_index(self, channel: str | int) -> int:
        """Column of a channel given by name or index."""
        names = self.channel_names
        if isinstance(channel, str):
            if channel not in names:
                raise ClipError("emg.channels", f"no channel {channel!r}; channels: {', '.join(names)}")
            return names.index(channel)
        if isinstance(channel, bool) or not isinstance(channel, int | np.integer):
            raise ClipError("emg.channels", f"channel must be a name or an index, got {channel!r}")
        if not -len(names) <= channel < len(names):
            raise ClipError("emg.channels", f"channel index {channel} out of range for {len(names)} channels")
        return int(channel) % len(names)

    def select(self, channels: Sequence[str | int]) -> EMG:
        """Keep some channels, by name or index, in the order given."""
        idx = [self.channel_index(c) for c in channels]
        if not idx:
            raise ClipError("emg.channels", "select at least one channel")
        names = [self.channel_names[i] for i in idx]
        muscles = {k: v for k, v in (self.muscles or {}).items() if k in names} or None
        return EMG(
            samples=self.samples[:, idx], sampling_rate=self.sampling_rate, channels=names, muscles=muscles
        )

    def with_samples(self, samples: np.ndarray, field: str = "emg.samples") -> EMG:
        """Same rate and channels, new samples; a processing overflow is reported on ``field``."""
        if not np.isfinite(samples).all():
            raise ClipError(field, "processing produced non-finite values (signal too large)")
        return EMG(
            samples=samples, sampling_rate=self.sampling_rate, channels=self.channels, muscles=self.muscles
        )


def _filtfilt(sos: np.ndarray, data: np.ndarray, what: str) -> np.ndarray:
    """Zero-phase filtering, refusing signals shorter than the filter's padding needs."""
    padlen = 3 * (2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum())))
    if data.shape[0] <= padlen:
        raise ClipError(
            "emg.samples", f"too few samples for the {what}: {data.shape[0]}, need at least {padlen + 1}"
        )
    return signal.sosfiltfilt(sos, data, axis=0)


def bandpass(emg: EMG, low_hz: float = BAND_HZ[0], high_hz: float = BAND_HZ[1], order: int = 4) -> EMG:
    """Butterworth band-pass (zero phase): removes motion artefact below and noise above the EMG band.

    The upper edge is clamped to 95 % of Nyquist; rates below 500 Hz are refused.
    """
    rate = emg.sampling_rate
    if rate < MIN_RATE_HZ:
        raise ClipError(
            "emg.sampling_rate",
            f"{rate:g} Hz is below {MIN_RATE_HZ:g} Hz, too low for surface EMG (20-450 Hz)",
        )
    high = min(high_hz, 0.95 * rate / 2)
    if not 0 < low_hz < high:
        raise ClipError("low_hz", f"band edges must satisfy 0 < low < high, got {low_hz:g}-{high:g} Hz")
    sos = signal.butter(order, [low_hz, high], btype="bandpass", fs=rate, output="sos")
    return emg.with_samples(_filtfilt(sos, emg.samples, f"{low_hz:g}-{high:g} Hz band-pass"))


def notch(emg: EMG, mains_hz: float = 50.0, quality: float = 30.0) -> EMG:
    """Remove mains interference (50 Hz, or 60 Hz in the Americas) with an IIR notch, zero phase."""
    if not 0 < mains_hz < emg.sampling_rate / 2:
        raise ClipError(
            "mains_hz", f"notch at {mains_hz:g} Hz must lie below Nyquist ({emg.sampling_rate / 2:g} Hz)"
        )
    b, a = signal.iirnotch(mains_hz, quality, fs=emg.sampling_rate)
    return emg.with_samples(_filtfilt(signal.tf2sos(b, a), emg.samples, f"{mains_hz:g} Hz notch"))


def preprocess(emg: EMG, mains_hz: float | None = 50.0) -> EMG:
    """Band-pass 20-450 Hz, then notch the mains frequency (None to skip)."""
    filtered = bandpass(emg)
    return filtered if mains_hz is None else notch(filtered, mains_hz)


def rectify(emg: EMG) -> EMG:
    """Full-wave rectification."""
    return emg.with_samples(np.abs(emg.samples))


def envelope(emg: EMG, cutoff_hz: float = 6.0, order: int = 4) -> EMG:
    """Linear envelope: rectify, then Butterworth low-pass (zero phase); a proxy for muscle activation."""
    if not 0 < cutoff_hz < emg.sampling_rate / 2:
        raise ClipError("cutoff_hz", f"must lie in (0, {emg.sampling_rate / 2:g}) Hz, got {cutoff_hz:g}")
    sos = signal.butter(order, cutoff_hz, btype="lowpass", fs=emg.sampling_rate, output="sos")
    smooth = _filtfilt(sos, np.abs(emg.samples), f"{cutoff_hz:g} Hz envelope low-pass")
    return emg.with_samples(np.maximum(smooth, 0.0))


def moving_rms(emg: EMG, window_s: float = 0.1) -> EMG:
    """Root mean square over a centred sliding window of ``window_s`` seconds."""
    width = int(round(window_s * emg.sampling_rate))
    if not 1 <= width <= emg.samples.shape[0]:
        raise ClipError("window_s", f"window of {width} samples does not fit {emg.samples.shape[0]} samples")
    kernel = np.full((width, 1), 1.0 / width)
    power = signal.oaconvolve(emg.samples**2, kernel, mode="same", axes=0)
    return emg.with_samples(np.sqrt(np.maximum(power, 0.0)))


def normalise(emg: EMG, mvc: Sequence[float] | np.ndarray | None = None) -> EMG:
    """Express each channel as a fraction of its MVC reference, or of its own peak when none is given."""
    if mvc is None:
        reference = np.abs(emg.samples).max(axis=0)
        field = "emg.samples"
    else:
        reference = as_float_array(mvc, "mvc").ravel()
        field = "mvc"
        if reference.size != emg.samples.shape[1]:
            raise ClipError("mvc", f"{reference.size} values for {emg.samples.shape[1]} channels")
    if not (np.isfinite(reference) & (reference > 0)).all():
        raise ClipError(field, "every channel needs a finite reference > 0 (a flat channel has no peak)")
    with np.errstate(over="ignore"):
        return emg.with_samples(emg.samples / reference, field)


class Balance(BaseModel):
    """Left/right balance of two channels' mean envelopes."""

    ratio: float
    """mean(left) / mean(right); 1 is even."""
    index: float
    """(left - right) / (left + right) in [-1, 1]; 0 is even, positive = left works more."""


def balance(env: EMG, left: str | int, right: str | int) -> Balance:
    """Compare the mean envelopes of a left/right channel pair."""
    lm = float(env.samples[:, env.channel_index(left)].mean())
    rm = float(env.samples[:, env.channel_index(right)].mean())
    if lm < 0 or rm < 0 or lm + rm == 0:
        raise ClipError("emg.samples", "balance needs envelopes (non-negative, not both zero)")
    ratio = lm / rm if rm > 0 else float("inf")
    return Balance(ratio=ratio, index=(lm - rm) / (lm + rm))


def onset_time(
    env: EMG, channel: str | int = 0, baseline_s: float = 0.5, k: float = 3.0, min_duration_s: float = 0.05
) -> float | None:
    """First time (s) the envelope stays above baseline mean + k*SD for ``min_duration_s``; None if never.

    The baseline is the first ``baseline_s`` seconds, which must be rest.
    """
    x = env.samples[:, env.channel_index(channel)]
    n_base = int(round(baseline_s * env.sampling_rate))
    n_min = max(1, int(round(min_duration_s * env.sampling_rate)))
    if not 2 <= n_base < x.size:
        raise ClipError("baseline_s", f"baseline of {n_base} samples does not fit {x.size} samples")
    base = x[:n_base]
    above = (x > base.mean() + k * base.std()).astype(np.int8)
    run = signal.oaconvolve(above, np.ones(n_min), mode="valid") if above.size >= n_min else np.zeros(0)
    hits = np.flatnonzero(run > n_min - 0.5)
    return float(hits[0] / env.sampling_rate) if hits.size else None


def median_frequency(emg: EMG, window_s: float | None = None, segment_s: float = 0.25) -> np.ndarray:
    """Median frequency (Hz) of the Welch power spectrum: (C,) for the whole signal, or (W, C) per window.

    Muscle fatigue slows conduction and shifts power down, so a falling MDF across reps signals fatigue.
    A flat channel (no power) gives NaN.
    """
    rate = emg.sampling_rate
    n = emg.samples.shape[0]
    if n < 8:
        raise ClipError("emg.samples", f"too few samples for a spectrum: {n}, need at least 8")
    step = n if window_s is None else int(round(window_s * rate))
    if not 8 <= step <= n:
        raise ClipError("window_s", f"windows of {step} samples do not fit {n} samples (need 8 or more)")
    windows = np.stack([emg.samples[i : i + step] for i in range(0, n - step + 1, step)])
    nperseg = max(8, min(step, int(round(segment_s * rate))))
    freqs, psd = signal.welch(windows, fs=rate, nperseg=nperseg, axis=1)
    cumulative = np.cumsum(psd, axis=1)
    total = cumulative[:, -1:, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        below = cumulative < 0.5 * total
    idx = np.clip(below.sum(axis=1), 1, freqs.size - 1)
    lo_c = np.take_along_axis(cumulative, (idx - 1)[:, None, :], axis=1)[:, 0]
    hi_c = np.take_along_axis(cumulative, idx[:, None, :], axis=1)[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.clip((0.5 * total[:, 0] - lo_c) / (hi_c - lo_c), 0.0, 1.0)
    mdf = freqs[idx - 1] + frac * (freqs[idx] - freqs[idx - 1])
    mdf[~(total[:, 0] > 0)] = np.nan
    return mdf[0] if window_s is None else mdf
