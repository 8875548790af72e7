"""EMG: validation names the field; the processing chain behaves on synthetic and real recordings."""

from __future__ import annotations

import csv
import logging
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from flexaqa.clips.emg import (
    EMG,
    bandpass,
    decimation,
    envelope,
    median_frequency,
    normalise,
    notch,
    preprocess,
)
from flexaqa.clips.errors import ClipError
from flexaqa.clips.readers import read_emg_mat

logger = logging.getLogger(__name__)
RATE = 2000.0


def _noise(
    seconds: float = 2.0, channels: int = 2, band: tuple[float, float] = (50, 150), seed: int = 0
) -> np.ndarray:
    """Band-limited Gaussian noise: a stand-in for interference-pattern EMG."""
    rng = np.random.default_rng(seed)
    sos = signal.butter(4, band, btype="bandpass", fs=RATE, output="sos")
    return signal.sosfilt(sos, rng.normal(size=(int(seconds * RATE), channels)), axis=0)


def _burst(seconds: float = 3.0, on: float = 1.0, off: float = 2.0) -> EMG:
    """Rest, then an activation burst from ``on`` to ``off`` seconds."""
    x = _noise(seconds, 1)
    t = np.arange(x.shape[0]) / RATE
    gain = np.where((t >= on) & (t < off), 1.0, 0.05)
    return EMG(samples=x * gain[:, None], sampling_rate=RATE)


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"samples": np.zeros((100, 2))}, "emg.sampling_rate", "required"),
        ({"samples": np.zeros((100, 2)), "sampling_rate": None}, "emg.sampling_rate", "missing"),
        ({"samples": np.zeros((100, 2)), "sampling_rate": -5}, "emg.sampling_rate", "> 0"),
        ({"samples": np.zeros((2, 3, 4)), "sampling_rate": RATE}, "emg.samples", "shape"),
        ({"samples": np.zeros((1, 3)), "sampling_rate": RATE}, "emg.samples", "shape"),
        ({"samples": np.zeros((10, 0)), "sampling_rate": RATE}, "emg.samples", "shape"),
        ({"samples": np.array([[1.0, np.nan], [0, 0]]), "sampling_rate": RATE}, "emg.samples", "NaN"),
        ({"samples": np.array([[1.0, np.inf], [0, 0]]), "sampling_rate": RATE}, "emg.samples", "inf"),
        ({"samples": np.zeros((10, 2)), "sampling_rate": RATE, "channels": ["a"]}, "emg.channels", "names"),
        (
            {"samples": np.zeros((10, 2)), "sampling_rate": RATE, "channels": ["a", "a"]},
            "emg.channels",
            "unique",
        ),
    ],
)
def test_bad_emg_names_the_field(kwargs, field, words):
    with pytest.raises(ClipError) as err:
        EMG(**kwargs)
    assert err.value.field == field
    assert words in err.value.problem


def test_one_dimensional_samples_are_one_channel():
    emg = EMG(samples=np.zeros(50), sampling_rate=RATE)
    assert emg.samples.shape == (50, 1)
    assert emg.channel_names == ("ch1",)


def test_muscle_map_follows_channel_selection():
    emg = EMG(samples=np.zeros((10, 2)), sampling_rate=RATE, channels=["a", "b"], muscles={"b": "biceps"})
    assert emg.select(["b"]).muscles == {"b": "biceps"}
    assert emg.select([0]).muscles is None
    with pytest.raises(ClipError) as err:
        EMG(samples=np.zeros((10, 2)), sampling_rate=RATE, muscles={"c": "triceps"})
    assert err.value.field == "emg.muscles"


def test_rate_below_500_hz_is_refused_by_the_band_pass():
    with pytest.raises(ClipError) as err:
        bandpass(EMG(samples=np.zeros((1000, 1)), sampling_rate=400))
    assert err.value.field == "emg.sampling_rate"
    assert "500" in err.value.problem


@pytest.mark.parametrize(
    ("process", "samples", "needed"),
    [
        (lambda emg: bandpass(emg, zero_phase=True), 12, 16),
        (envelope, 90, 100),  # 10 envelope samples of 10 recording samples each
    ],
)
def test_too_few_samples_says_how_many_are_needed(process, samples, needed):
    with pytest.raises(ClipError) as err:
        process(EMG(samples=np.zeros((samples, 1)), sampling_rate=RATE))
    assert err.value.field == "emg.samples"
    assert f"need at least {needed}" in err.value.problem


def test_band_pass_removes_drift_and_keeps_the_emg_band():
    t = np.arange(4000) / RATE
    drift = 5.0 * np.sin(2 * np.pi * 2 * t)
    tone = np.sin(2 * np.pi * 100 * t)
    out = bandpass(EMG(samples=(drift + tone)[:, None], sampling_rate=RATE)).samples[500:-500, 0]
    assert np.std(out) == pytest.approx(np.std(tone), rel=0.05)


def test_upper_band_edge_is_clamped_below_nyquist():
    out = bandpass(EMG(samples=_noise(1, 1), sampling_rate=600))
    assert np.isfinite(out.samples).all()


@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_notch_removes_mains_hum(mains):
    t = np.arange(8000) / RATE
    hum = np.sin(2 * np.pi * mains * t)
    out = notch(EMG(samples=hum[:, None], sampling_rate=RATE), mains_hz=mains).samples[1000:-1000, 0]
    assert np.std(out) < 0.05 * np.std(hum)


@pytest.mark.parametrize("mains", [50.0, 60.0, None])
def test_preprocess_is_band_pass_then_notch_in_one_pass(mains):
    raw = EMG(samples=_noise(2, 3, band=(5, 600)), sampling_rate=RATE)
    expected = bandpass(raw) if mains is None else notch(bandpass(raw), mains)
    np.testing.assert_allclose(preprocess(raw, mains).samples, expected.samples, rtol=1e-9, atol=1e-12)


def test_causal_band_pass_gives_the_same_envelope_as_zero_phase():
    """The band-pass runs once, not forward and back: after rectification no lag or shape change shows."""
    burst = EMG(samples=_burst().samples * np.array([[1.0, 0.5, 2.0]]), sampling_rate=RATE)
    causal = envelope(bandpass(burst)).samples
    zero_phase = envelope(bandpass(burst, zero_phase=True)).samples
    for c in range(causal.shape[1]):
        a, b = causal[:, c] - causal[:, c].mean(), zero_phase[:, c] - zero_phase[:, c].mean()
        assert np.corrcoef(a, b)[0, 1] > 0.99
        lag = int(np.argmax(signal.correlate(a, b, mode="full"))) - (b.size - 1)
        assert lag == 0, "envelope shifted by a whole envelope sample (5 ms)"


@pytest.mark.parametrize(("modulation_hz", "kept"), [(1.0, (0.95, 1.02)), (6.0, (0.66, 0.75)), (20.0, (0.0, 0.1))])
def test_envelope_cutoff_is_where_activation_swings_lose_3_db(modulation_hz, kept):
    """A 150 Hz carrier whose amplitude swings at ``modulation_hz``: the envelope keeps 1/sqrt(2) of a
    swing at its 6 Hz cutoff, nearly all of a slow one and little of a fast one."""
    t = np.arange(int(8 * RATE)) / RATE
    swing = 0.5 * np.sin(2 * np.pi * modulation_hz * t)
    carrier = np.sin(2 * np.pi * 150 * t)
    env = envelope(EMG(samples=((1 + swing) * carrier)[:, None], sampling_rate=RATE))
    x = env.samples[env.samples.shape[0] // 4 : -env.samples.shape[0] // 4, 0]  # away from the edges
    kept_share = (x.max() - x.min()) / 2 / (0.5 * 2 / np.pi)  # rectified sine averages 2/pi of its peak
    assert kept[0] <= kept_share <= kept[1]


def test_envelope_at_a_lower_rate_matches_the_full_rate_envelope():
    burst = _burst()
    low = envelope(burst)
    full = envelope(burst, rate_hz=RATE)
    assert low.sampling_rate == 200 and full.sampling_rate == RATE
    block = decimation(burst, low)
    centred = full.samples[block // 2 :: block][: low.samples.shape[0]]
    inner = slice(50, -50)  # the two pad their ends differently for the first and last quarter second
    assert np.abs(low.samples[inner] - centred[inner]).max() < 0.02 * full.samples.max()


def test_envelope_follows_the_burst():
    env = envelope(_burst())
    x = env.samples[:, 0]
    assert x[int(1.5 * env.sampling_rate)] > 5 * x[int(0.5 * env.sampling_rate)]
    assert (x >= 0).all()


def test_normalise_to_mvc_and_to_own_peak():
    env = EMG(samples=np.array([[1.0, 2.0], [3.0, 4.0]]), sampling_rate=RATE)
    np.testing.assert_allclose(normalise(env, mvc=[6.0, 8.0]).samples, [[1 / 6, 0.25], [0.5, 0.5]])
    np.testing.assert_allclose(normalise(env).samples.max(axis=0), [1.0, 1.0])
    with pytest.raises(ClipError) as err:
        normalise(env, mvc=[1.0])
    assert err.value.field == "mvc"


def test_unknown_channel_is_named():
    with pytest.raises(ClipError, match="no channel 'deltoid'"):
        EMG(samples=np.ones((4, 2)), sampling_rate=RATE).select(["deltoid"])


def test_median_frequency_falls_when_power_shifts_down():
    """The fatigue direction: slower conduction moves power to lower frequencies, so MDF drops."""
    fresh = median_frequency(EMG(samples=_noise(band=(80, 200)), sampling_rate=RATE))
    tired = median_frequency(EMG(samples=_noise(band=(40, 120)), sampling_rate=RATE))
    assert (tired < fresh).all()
    assert (80 < fresh).all() and (fresh < 200).all()


def test_median_frequency_per_window():
    mdf = median_frequency(EMG(samples=_noise(seconds=2.0), sampling_rate=RATE), window_s=0.5)
    assert mdf.shape == (4, 2)


def test_flat_channel_has_no_median_frequency():
    mdf = median_frequency(EMG(samples=np.zeros((1000, 1)), sampling_rate=RATE))
    assert np.isnan(mdf).all()


@pytest.fixture(scope="module")
def hdemg(shared_data: Path) -> tuple[EMG, EMG]:
    """The real 64-channel HD-sEMG grid and its force channel (75, %MVC)."""
    path = shared_data / "emg" / "hdemg_vastus_lateralis_isometric_2048hz.mat"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return read_emg_mat(path, channels=range(64)), read_emg_mat(path, channels=[74])


def test_real_hdemg_reads_with_rate_and_names(hdemg):
    grid, force = hdemg
    assert grid.samples.shape == (66560, 64)
    assert grid.sampling_rate == 2048
    assert grid.channel_names[0].startswith("Vastus Lateralis")
    assert "MVC" in force.channel_names[0]


def test_real_hdemg_envelope_tracks_force(hdemg):
    grid, force = hdemg
    env = envelope(preprocess(grid))
    block = decimation(grid, env)
    force_blocks = force.samples[: env.samples.shape[0] * block, 0].reshape(-1, block).mean(axis=1)
    r = float(np.corrcoef(env.samples.mean(axis=1), force_blocks)[0, 1])
    logger.info("HD-sEMG grid-mean envelope vs force: r = %.3f", r)
    assert r > 0.7


def test_real_hdemg_median_frequency_is_physiological(hdemg):
    grid, _ = hdemg
    mdf = median_frequency(preprocess(grid))
    logger.info("HD-sEMG MDF: median %.1f Hz, range %.1f-%.1f Hz", np.median(mdf), mdf.min(), mdf.max())
    assert 40 <= np.median(mdf) <= 150
    assert (mdf > 30).all() and (mdf < 200).all()


def test_real_fatigued_reps_have_lower_median_frequency(shared_data: Path):
    """Per session, fatigued reps' MDF is below the fresh reps' MDF, on average and in most sessions."""
    path = shared_data / "emg" / "biceps_curl_fatigue_reps.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    by_session: dict[str, dict[int, list[float]]] = defaultdict(lambda: {0: [], 1: []})
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            by_session[row["file_id"]][int(row["is_fatigued"])].append(float(row["mdf"]))
    drops = [np.mean(s[1]) - np.mean(s[0]) for s in by_session.values() if s[0] and s[1]]
    lower = sum(d < 0 for d in drops)
    logger.info("fatigue: %d/%d sessions lower MDF, mean change %.2f Hz", lower, len(drops), np.mean(drops))
    assert len(drops) >= 20
    assert np.mean(drops) < 0
    assert lower >= 0.7 * len(drops)


def test_a_read_only_view_of_writable_data_is_copied_not_shared():
    data = _noise(1, 2)
    view = data[:]
    view.flags.writeable = False
    emg = EMG(samples=view, sampling_rate=RATE)
    data[0, 0] = np.nan  # the owner writes after the model was made
    assert np.isfinite(emg.samples).all()


def test_processing_leaves_the_input_model_as_it_was():
    emg = EMG(samples=_noise(1, 2), sampling_rate=RATE, channels=("a", "b"), muscles={"a": "quadriceps"})
    before = emg.samples.copy()
    processed = envelope(preprocess(emg))
    processed.muscles["b"] = "hamstrings"
    assert emg.muscles == {"a": "quadriceps"}
    np.testing.assert_array_equal(emg.samples, before)
    with pytest.raises(ValueError):
        processed.samples[0, 0] = 1.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rate_hz": 5e-324}, "cutoff_hz"),  # an envelope that slow cannot hold a 6 Hz cutoff
        ({"rate_hz": "fast"}, "rate_hz"),
        ({"cutoff_hz": float("nan")}, "cutoff_hz"),
        ({"cutoff_hz": 90.0}, "cutoff_hz"),
    ],
)
def test_bad_envelope_settings_are_named(kwargs, field):
    with pytest.raises(ClipError) as err:
        envelope(_burst(), **kwargs)
    assert err.value.field == field


def test_band_pass_delays_the_emg_band_by_a_few_milliseconds():
    """What lets the band-pass run causally: its delay stays far below a video frame (33 ms at 30 fps)."""
    probe = np.zeros((4000, 1))
    probe[0] = 1.0
    impulse = bandpass(EMG(samples=probe, sampling_rate=RATE)).samples[:, 0]
    freqs, delay = signal.group_delay((impulse, [1.0]), w=np.array([20.0, 50.0, 100.0, 250.0]), fs=RATE)
    delay_ms = delay / RATE * 1000
    assert delay_ms[1:].max() < 3 and delay_ms[0] < 15
