"""Surface EMG: validation and the standard processing chain (band-pass, notch, envelope, MDF).

Samples are (N, C) float64: N samples by C channels at ``sampling_rate`` Hz. Every step returns a new
EMG, so steps chain and the rate and channel names travel with the data. scipy.signal is imported by the
steps that filter (it takes about a second): reading a clip or printing help needs none of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import ClassVar, Literal

import numpy as np
from pydantic import field_validator, model_validator

from flexaqa.clips.base import ClipModel, as_float_array, check_finite, freeze, positive_number
from flexaqa.clips.errors import ClipError

BAND_HZ = (20.0, 450.0)
BAND_ORDER = 2
"""Each band edge rolls off at 12 dB/octave: De Luca et al. (2010, J Biomech 43:1573) found a 20 Hz corner
with that slope removes movement artefact while keeping the EMG's power."""
NOTCH_QUALITY = 30.0
MIN_RATE_HZ = 500.0
"""Below this the 20-450 Hz surface-EMG band cannot be kept, so the signal is refused rather than mangled."""
ENVELOPE_RATE_HZ = 200.0
"""Envelopes are kept at about this rate: ample for activation that changes over tenths of a second, and a
tenth of the samples of a 2 kHz recording to filter and store."""


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
        data = as_float_array(value, "emg.samples", order="F")  # a channel per column: filters run along memory
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
        names = tuple(self.channel_names[i] for i in idx)
        muscles = {k: v for k, v in (self.muscles or {}).items() if k in names} or None
        return EMG(
            samples=self.samples[:, idx], sampling_rate=self.sampling_rate, channels=names, muscles=muscles
        )

    def with_samples(
        self, samples: np.ndarray, field: str = "emg.samples", sampling_rate: float | None = None
    ) -> EMG:
        """Same channels (and rate, unless given), new samples: a fresh processing result, which is frozen
        and shared rather than copied (a repetition's worth is a megabyte). A result that is not valid
        EMG (an overflow, say) is reported on ``field``."""
        try:
            return EMG(samples=freeze(samples), sampling_rate=sampling_rate or self.sampling_rate,
                       channels=self.channels, muscles=self.muscles)
        except ClipError as exc:
            raise ClipError(field, f"processing produced unusable values ({exc.problem})") from None


@lru_cache(maxsize=64)
def _butter(order: int, edges: float | tuple[float, float], btype: Literal["bandpass", "lowpass"],
            rate: float) -> np.ndarray:
    """Butterworth second-order sections, designed once per (order, edges, type, rate) and frozen: a
    design costs about as much as filtering a whole repetition."""
    from scipy import signal
    return freeze(signal.butter(order, edges, btype=btype, fs=rate, output="sos"))


def _bandpass_sos(rate: float, low_hz: float, high_hz: float, order: int) -> np.ndarray:
    """The EMG band-pass design; refuses rates below 500 Hz and clamps the top edge to 95 % of Nyquist."""
    if rate < MIN_RATE_HZ:
        raise ClipError(
            "emg.sampling_rate",
            f"{rate:g} Hz is below {MIN_RATE_HZ:g} Hz, too low for surface EMG (20-450 Hz)",
        )
    high = min(high_hz, 0.95 * rate / 2)
    if not 0 < low_hz < high:
        raise ClipError("low_hz", f"band edges must satisfy 0 < low < high, got {low_hz:g}-{high:g} Hz")
    return _butter(order, (low_hz, high), "bandpass", rate)


def _notch_sos(rate: float, mains_hz: float, quality: float) -> np.ndarray:
    if not 0 < mains_hz < rate / 2:
        raise ClipError("mains_hz", f"notch at {mains_hz:g} Hz must lie below Nyquist ({rate / 2:g} Hz)")
    return _iirnotch(mains_hz, quality, rate)


@lru_cache(maxsize=16)
def _iirnotch(mains_hz: float, quality: float, rate: float) -> np.ndarray:
    from scipy import signal
    return freeze(signal.tf2sos(*signal.iirnotch(mains_hz, quality, fs=rate)))


def _padlen(sos: np.ndarray) -> int:
    """Samples that zero-phase filtering pads each end with (scipy's default for ``sosfiltfilt``)."""
    return 3 * (2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum())))


def _filter(sos: np.ndarray, data: np.ndarray, zero_phase: bool, what: str) -> np.ndarray:
    """Run ``sos`` along time, once (causal) or forward and back (zero phase, which needs padding)."""
    from scipy import signal
    sos = np.array(sos)  # scipy filters want a writable copy; the cached designs are frozen
    if not zero_phase:
        return signal.sosfilt(sos, data, axis=0)
    if data.shape[0] <= _padlen(sos):
        raise ClipError(
            "emg.samples", f"too few samples for the {what}: {data.shape[0]}, need at least {_padlen(sos) + 1}"
        )
    return signal.sosfiltfilt(sos, data, axis=0)


def bandpass(
    emg: EMG,
    low_hz: float = BAND_HZ[0],
    high_hz: float = BAND_HZ[1],
    order: int = BAND_ORDER,
    zero_phase: bool = False,
) -> EMG:
    """Butterworth band-pass: removes motion artefact below and noise above the EMG band.

    Causal by default: its group delay is under 3 ms over 50-250 Hz, where most sEMG power lies, and
    12 ms at the 20 Hz edge, under half a video frame, and rectification discards the carrier's phase
    anyway; ``zero_phase`` runs it forward and back (twice the cost) when the filtered waveform itself
    is wanted. The upper edge is clamped to 95 % of Nyquist; rates below 500 Hz are refused.
    """
    sos = _bandpass_sos(emg.sampling_rate, low_hz, high_hz, order)
    return emg.with_samples(_filter(sos, emg.samples, zero_phase, "band-pass"))


def notch(emg: EMG, mains_hz: float = 50.0, quality: float = NOTCH_QUALITY, zero_phase: bool = False) -> EMG:
    """Remove mains interference (50 Hz, or 60 Hz in the Americas) with an IIR notch (causal by default,
    like :func:`bandpass`)."""
    sos = _notch_sos(emg.sampling_rate, mains_hz, quality)
    return emg.with_samples(_filter(sos, emg.samples, zero_phase, f"{mains_hz:g} Hz notch"))


def preprocess(emg: EMG, mains_hz: float | None = 50.0) -> EMG:
    """Band-pass 20-450 Hz and notch the mains frequency (None to skip), as one causal filter cascade:
    the same output as :func:`bandpass` then :func:`notch`, in one pass over the samples. The notch
    delays only what lies near the mains frequency (5 ms at 5 Hz from it, more closer in)."""
    sos = _bandpass_sos(emg.sampling_rate, *BAND_HZ, order=BAND_ORDER)
    if mains_hz is not None:
        sos = np.vstack([sos, _notch_sos(emg.sampling_rate, mains_hz, NOTCH_QUALITY)])
    return emg.with_samples(_filter(sos, emg.samples, False, "band-pass and notch"))


DUAL_PASS_CORRECTION = (2**0.5 - 1) ** 0.25
"""Running a 2nd-order Butterworth forward and back lowers its -3 dB point to (2^(1/2) - 1)^(1/4) = 0.802
times its design cutoff (Winter's dual-pass correction), so the design cutoff is the wanted one over this."""


def envelope(emg: EMG, cutoff_hz: float = 6.0, rate_hz: float = ENVELOPE_RATE_HZ) -> EMG:
    """Linear envelope, a proxy for muscle activation: rectify, average blocks of samples down to about
    ``rate_hz`` (never below it), then a 2nd-order Butterworth low-pass run forward and back (zero lag,
    Winter's classic linear envelope) whose combined -3 dB point is ``cutoff_hz``.

    An envelope holds nothing above a few hertz, so it is kept at the lower rate: the returned EMG's
    ``sampling_rate`` says which, and :func:`decimation` how many recording samples each sample covers.
    Block averaging is the anti-alias filter: its nulls fall exactly on the multiples of the new rate,
    the frequencies that would fold onto the envelope's band.
    """
    from scipy import signal
    rate_hz = positive_number(rate_hz, "rate_hz")
    cutoff_hz = positive_number(cutoff_hz, "cutoff_hz")
    ratio = emg.sampling_rate / rate_hz
    block = 1 if ratio < 2 else int(min(ratio, emg.samples.shape[0] + 1))
    rate = emg.sampling_rate / block
    design_hz = cutoff_hz / DUAL_PASS_CORRECTION
    if not 0 < design_hz < rate / 2:
        limit = rate / 2 * DUAL_PASS_CORRECTION
        raise ClipError("cutoff_hz", f"must lie in (0, {limit:g}) Hz at this rate, got {cutoff_hz:g}")
    section = _butter(2, design_hz, "lowpass", rate)[0]  # one biquad: filtfilt on (b, a) is the same filter
    need = (3 * 3 + 1) * block  # filtfilt pads each end with 3 x the filter length
    if emg.samples.shape[0] < need:
        raise ClipError("emg.samples", f"too few samples for the {cutoff_hz:g} Hz envelope: "
                        f"{emg.samples.shape[0]}, need at least {need}")
    usable = emg.samples.shape[0] // block * block
    averaged = np.abs(emg.samples[0:usable:block])
    for offset in range(1, block):  # one offset at a time: no recording-sized temporary to allocate
        averaged += np.abs(emg.samples[offset:usable:block])
    averaged /= block
    smooth = signal.filtfilt(section[:3], section[3:], averaged, axis=0)
    return emg.with_samples(np.maximum(smooth, 0.0), sampling_rate=rate)


def decimation(emg: EMG, env: EMG) -> int:
    """Recording samples per sample of ``env``, an :func:`envelope` of ``emg``: envelope sample k covers
    recording samples [k * d, (k + 1) * d), centred on k * d + d // 2."""
    return round(emg.sampling_rate / env.sampling_rate)


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


def median_frequency(emg: EMG, window_s: float | None = None, segment_s: float = 0.25) -> np.ndarray:
    """Median frequency (Hz) of the Welch power spectrum: (C,) for the whole signal, or (W, C) per window.

    Muscle fatigue slows conduction and shifts power down, so a falling MDF across reps signals fatigue.
    A flat channel (no power) gives NaN.
    """
    from scipy import signal
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


def pair_references(env: EMG, pairs: dict[tuple[str, str], int]) -> np.ndarray:
    """Per channel, the peak of its muscle's left/right pair, to pass to :func:`normalise` as ``mvc``.

    ``pairs`` maps (muscle, side) to a column. Both sides share one reference, so a left/right difference
    survives normalisation (each channel's own peak would erase it).
    """
    peaks = env.samples.max(axis=0)
    shared = peaks.copy()
    for (muscle, _), column in pairs.items():
        shared[column] = max(peaks[c] for (m, _), c in pairs.items() if m == muscle)
    return np.where(shared > 0, shared, 1.0)
