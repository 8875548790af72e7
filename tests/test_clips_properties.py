"""Whatever arrays arrive, the clip layer either works or raises ClipError, never anything else."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from flexaqa.clips.emg import EMG, envelope, median_frequency, normalise, preprocess
from flexaqa.clips.errors import ClipError
from flexaqa.clips.layouts import map_to_internal
from flexaqa.clips.segmentation import segment_emg, segment_skeleton
from flexaqa.clips.skeleton import Skeleton, centre_on_pelvis, fill_gaps, resample, scale_by_torso

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)
SHAPES = array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)
ANY_ARRAY = arrays(np.float64, SHAPES, elements=ANY_FLOAT)
RATES = st.one_of(ANY_FLOAT, st.sampled_from([100.0, 500.0, 1000.0, 2000.0]), st.none(), st.text(max_size=3))


NASTY = st.sampled_from([np.inf, -np.inf, np.nan, 1e300, -1e-300, 0.0])


def _noisy(draw: st.DrawFn, shape: tuple[int, ...], scales: list[float]) -> np.ndarray:
    """Random-walk data at a drawn scale, with a few drawn nasty values poked in."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = rng.normal(scale=draw(st.sampled_from(scales)), size=shape).cumsum(axis=0)
    for _ in range(draw(st.integers(0, 2))):
        values[tuple(rng.integers(0, n) for n in shape)] = draw(NASTY)
    return values


@st.composite
def skeleton_arrays(draw: st.DrawFn) -> np.ndarray:
    """(T, 21, D) arrays, mostly valid: moving joints, some missing, now and then an inf or a huge value."""
    shape = (draw(st.integers(1, 60)), 21, draw(st.sampled_from([2, 3, 3, 4])))
    values = _noisy(draw, shape, [0.0, 1e-6, 1.0, 1e3, 1e8])
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values[rng.random(shape[:2]) < draw(st.sampled_from([0.0, 0.1, 0.6, 1.0]))] = np.nan
    return values


@st.composite
def emg_arrays(draw: st.DrawFn) -> np.ndarray:
    """(N, C) signals of many lengths and scales, now and then with a NaN, inf or huge value."""
    return _noisy(draw, (draw(st.integers(2, 3000)), draw(st.integers(1, 3))), [0.0, 1e-9, 1.0, 1e6])


def _exercise_skeleton(positions: object, fps: object) -> None:
    skel = Skeleton(positions=positions, fps=fps)
    filled, _ = fill_gaps(skel, max_gap=3)
    resample(filled, 17)
    segment_skeleton(filled)
    scale_by_torso(centre_on_pelvis(filled))


def _exercise_emg(samples: object, rate: object) -> None:
    emg = EMG(samples=samples, sampling_rate=rate)
    median_frequency(emg)
    normalise(emg)
    clean = preprocess(emg)
    envelope(clean)
    segment_emg(clean)


def _only_clip_errors(action, *args) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            action(*args)
        except ClipError:
            pass


@SETTINGS
@given(ANY_ARRAY, ANY_FLOAT)
def test_any_array_into_skeleton_is_ok_or_clip_error(positions, fps):
    _only_clip_errors(_exercise_skeleton, positions, fps)


@SETTINGS
@given(skeleton_arrays(), st.floats(0.5, 240) | ANY_FLOAT)
def test_skeleton_shaped_arrays_process_or_raise_clip_error(positions, fps):
    _only_clip_errors(_exercise_skeleton, positions, fps)


@SETTINGS
@given(ANY_ARRAY, st.sampled_from(["COCO-17", "MediaPipe-33", "NTU-25", "FLEX-21", "nope"]))
def test_any_array_into_the_layout_mapper_is_ok_or_clip_error(array, layout):
    _only_clip_errors(map_to_internal, array, layout)


@SETTINGS
@given(ANY_ARRAY, RATES)
def test_any_array_into_emg_is_ok_or_clip_error(samples, rate):
    _only_clip_errors(_exercise_emg, samples, rate)


@SETTINGS
@given(emg_arrays(), st.sampled_from([499.0, 500.0, 1000.0, 2000.0]))
def test_emg_shaped_arrays_process_or_raise_clip_error(samples, rate):
    _only_clip_errors(_exercise_emg, samples, rate)
