"""Clips need a modality; the FLEX layout round-trips exactly and reads a partial download."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from flexaqa.clips.cache import ParsedCache
from flexaqa.clips.clip import Clip
from flexaqa.clips.emg import EMG
from flexaqa.clips.errors import ClipError
from flexaqa.clips.flex import FlexDataset, write_sample, write_split
from flexaqa.clips.skeleton import Skeleton
from flexaqa.clips.video import Video

RNG = np.random.default_rng(7)
SKELETON = Skeleton(positions=RNG.normal(size=(103, 21, 3)), fps=30)
NAMES = [f"m{i:02d}" for i in range(16)]
EMG_16 = EMG(samples=RNG.normal(size=(6867, 16)), sampling_rate=2000, channels=NAMES)
VIEW = Video(frames=np.full((4, 32, 48, 3), 120, np.uint8), fps=30)


def test_clip_without_any_modality_is_refused():
    with pytest.raises(ClipError) as err:
        Clip(action="A16")
    assert err.value.field == "clip"


def test_clip_reports_its_modalities_and_metadata():
    metadata = {"subject": "s01", "load_kg": 60, "side": "both"}
    clip = Clip(action="A16", emg=EMG_16, views=(VIEW,), metadata=metadata)
    assert clip.modalities == ["emg", "video"]
    assert clip.metadata.load_kg == 60


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"action": "", "emg": EMG_16}, "clip.action"),
        ({"action": "A16", "emg": EMG_16, "metadata": {"load_kg": -5}}, "clip.metadata.load_kg"),
        ({"action": "A16", "emg": EMG_16, "metadata": {"side": "up"}}, "clip.metadata.side"),
        ({"action": "A16", "emg": {"samples": np.zeros((100, 2))}}, "emg.sampling_rate"),
        ({"action": "A16", "skeleton": {"positions": np.zeros((1, 21, 3)), "fps": 30}}, "skeleton.positions"),
    ],
)
def test_bad_clip_fields_are_named(kwargs, field):
    with pytest.raises(ClipError) as err:
        Clip(**kwargs)
    assert err.value.field == field


@pytest.fixture
def flex_root(tmp_path: Path) -> Path:
    tmp_path = tmp_path / "flex"
    write_sample(tmp_path, 1, Clip(action="A16", skeleton=SKELETON, emg=EMG_16, views=(VIEW, VIEW)))
    write_sample(tmp_path, 2, Clip(action="A16", skeleton=SKELETON))
    write_sample(tmp_path, 7, Clip(action="A03", emg=EMG_16))
    write_split(tmp_path, "train", [(16, 1, 72.5), (16, 2, 50.0), (3, 7, 30.0)])
    write_split(tmp_path, "test", [(16, 1, 90.0), (3, 7, 40.0)])
    return tmp_path


def test_flex_layout_on_disk(flex_root):
    assert (flex_root / "Skeleton/A16/001/skeleton_points.csv").is_file()
    assert (flex_root / "EMG/A16/001/EMG.csv").is_file()
    assert (flex_root / "A16/001/View-2/img_00004.JPG").is_file()
    assert (flex_root / "Split_4/split_4_train_list.mat").is_file()
    lines = (flex_root / "Skeleton/A16/001/skeleton_points.csv").read_text().splitlines()
    assert len(lines) == 104 and len(lines[1].split(",")) == 63


def test_flex_round_trip_gives_the_same_arrays_and_scores(flex_root):
    samples = list(FlexDataset(flex_root).samples("train"))
    keys = [(s.action, s.index, s.score) for s in samples]
    assert keys == [("A16", 1, 72.5), ("A16", 2, 50.0), ("A03", 7, 30.0)]
    first = samples[0].clip
    np.testing.assert_array_equal(first.skeleton.positions, SKELETON.positions)
    np.testing.assert_array_equal(first.emg.samples, EMG_16.samples)
    assert first.emg.channel_names == EMG_16.channel_names
    assert first.emg.sampling_rate == 2000
    assert len(first.views) == 2 and first.views[0].frames.shape == (4, 32, 48, 3)


def test_scores_are_normalised_per_action_over_both_splits(flex_root):
    dataset = FlexDataset(flex_root)
    assert dataset.score_ranges() == {"A16": (50.0, 90.0), "A03": (30.0, 40.0)}
    norm = {(s.action, s.index): s.normalised_score for s in dataset.samples("train")}
    assert norm == {("A16", 1): pytest.approx(0.5625), ("A16", 2): 0.0, ("A03", 7): 0.0}


def test_given_score_ranges_win(flex_root):
    dataset = FlexDataset(flex_root, score_ranges={"A16": (0.0, 100.0), "A03": (0.0, 100.0)})
    assert next(dataset.samples("test")).normalised_score == pytest.approx(0.9)


def test_partial_download_leaves_fields_empty_and_logs_once(flex_root, caplog):
    caplog.set_level(logging.WARNING, logger="flexaqa.clips.flex")
    samples = {(s.action, s.index): s.clip for s in FlexDataset(flex_root).samples("train")}
    assert samples[("A16", 2)].emg is None and samples[("A16", 2)].views == ()
    assert samples[("A03", 7)].skeleton is None
    list(FlexDataset(flex_root).samples("train"))
    per_kind = [r.message.split(":")[1].split("missing")[0].strip() for r in caplog.records]
    assert sorted(per_kind) == sorted(["EMG", "video views", "skeleton"] * 2)


def test_empty_view_folder_is_a_missing_view(flex_root):
    (flex_root / "A16/002/View-1").mkdir(parents=True)
    clip = FlexDataset(flex_root).load("A16", 2)
    assert clip is not None and clip.views == ()


def test_sample_absent_from_disk_is_skipped(flex_root):
    write_split(flex_root, "test", [(16, 1, 90.0), (5, 3, 10.0)])
    assert [s.action for s in FlexDataset(flex_root).samples("test")] == ["A16"]


def test_writer_refuses_what_flex_cannot_hold(tmp_path):
    flat = Skeleton(positions=np.zeros((5, 21, 2)), fps=30)
    with pytest.raises(ClipError, match="3D"):
        write_sample(tmp_path, 1, Clip(action="A01", skeleton=flat))
    with pytest.raises(ClipError) as err:
        write_sample(tmp_path, 1, Clip(action="A01", emg=EMG(samples=np.zeros((10, 1)), sampling_rate=1000)))
    assert err.value.field == "emg.sampling_rate"
    with pytest.raises(ClipError) as err:
        write_sample(tmp_path, 1, Clip(action="sixteen", emg=EMG_16))
    assert err.value.field == "clip.action"


def test_missing_split_and_unknown_split_are_clip_errors(tmp_path):
    with pytest.raises(ClipError):
        list(FlexDataset(tmp_path).samples("train"))
    with pytest.raises(ClipError) as err:
        list(FlexDataset(tmp_path).samples("val"))
    assert err.value.field == "split"


def _scramble_keeping_stamp(path: Path) -> None:
    """Overwrite a file with junk of the same size and restore its mtime: only a cache can still read it."""
    info = path.stat()
    path.write_bytes(b"x" * info.st_size)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def _emg_entry(cache: Path) -> tuple[Path, Path]:
    """The record and the array of the cached A16/001 sEMG table."""
    (array,) = (cache / "EMG/A16/001").glob("EMG.csv.*.npy")
    return cache / "EMG/A16/001/EMG.csv.json", array


def test_parse_cache_serves_later_reads_without_parsing_the_text(flex_root, tmp_path):
    cache = tmp_path / "cache"
    first = FlexDataset(flex_root, load_video=False, cache_dir=cache).load("A16", 1)
    _emg_entry(cache)
    _scramble_keeping_stamp(flex_root / "EMG/A16/001/EMG.csv")
    _scramble_keeping_stamp(flex_root / "Skeleton/A16/001/skeleton_points.csv")
    again = FlexDataset(flex_root, load_video=False, cache_dir=cache).load("A16", 1)
    np.testing.assert_array_equal(again.skeleton.positions, SKELETON.positions)
    np.testing.assert_array_equal(again.emg.samples, first.emg.samples)
    assert again.emg.channels == first.emg.channels == tuple(NAMES)
    with pytest.raises(ValueError):
        again.emg.samples[0, 0] = 1.0  # shared with the cache entry, so frozen
    with pytest.raises(ClipError):
        FlexDataset(flex_root, load_video=False).load("A16", 1)  # the text really is unreadable now


def test_edited_source_is_parsed_again_and_replaces_the_entry(flex_root, tmp_path):
    cache = tmp_path / "cache"
    FlexDataset(flex_root, load_video=False, cache_dir=cache).load("A16", 1)
    edited = EMG(samples=EMG_16.samples[:4000] * 2, sampling_rate=2000, channels=NAMES)
    write_sample(flex_root, 1, Clip(action="A16", emg=edited))
    clip = FlexDataset(flex_root, load_video=False, cache_dir=cache).load("A16", 1)
    np.testing.assert_array_equal(clip.emg.samples, edited.samples)
    np.testing.assert_array_equal(np.load(_emg_entry(cache)[1]), edited.samples)  # one array left, the new one


def test_a_source_edited_while_it_is_parsed_is_not_cached_under_its_new_stamp(tmp_path):
    root, source = tmp_path / "data", tmp_path / "data" / "table.csv"
    root.mkdir()
    source.write_text("1\n2\n")
    cache = ParsedCache(tmp_path / "cache", root)

    def parse_then_edit(path: Path) -> np.ndarray:
        values = np.loadtxt(path)
        path.write_text("1\n2\n3\n")  # a writer gets in while this version is parsed
        return values

    pack, unpack = (lambda a: (a, {})), (lambda a, _: a)
    assert cache.fetch(source, parse_then_edit, pack, unpack).tolist() == [1, 2]
    assert cache.fetch(source, np.loadtxt, pack, unpack).tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    "damage",
    [
        lambda record, array: array.write_bytes(b"not an array"),
        lambda record, array: np.save(array, np.zeros(5)),  # a valid .npy, but not an sEMG table
        lambda record, array: np.save(array, np.full((6867, 16), np.nan)),
        lambda record, array: record.write_text(record.read_text().replace('"meta": {', '"meta": 3, "x": {')),
        lambda record, array: record.write_text('{"source": ' + "[" * 5000 + "]" * 5000 + "}"),
        lambda record, array: record.write_text("[]"),
    ],
)
def test_damaged_cache_entry_is_a_miss_and_is_rewritten(flex_root, tmp_path, damage):
    cache = tmp_path / "cache"
    FlexDataset(flex_root, load_video=False, cache_dir=cache).load("A16", 1)
    damage(*_emg_entry(cache))
    clip = FlexDataset(flex_root, load_video=False, cache_dir=cache).load("A16", 1)
    np.testing.assert_array_equal(clip.emg.samples, EMG_16.samples)
    np.testing.assert_array_equal(np.load(_emg_entry(cache)[1]), EMG_16.samples)


def test_cache_inside_the_dataset_is_refused(flex_root):
    with pytest.raises(ClipError) as err:
        FlexDataset(flex_root, cache_dir=flex_root / "cache")
    assert err.value.field == "cache_dir"


def test_unwritable_cache_folder_warns_once_and_reads_on(flex_root, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="flexaqa.clips.cache")
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    dataset = FlexDataset(flex_root, load_video=False, cache_dir=blocker)
    clips = [dataset.load("A16", 1), dataset.load("A16", 2)]
    np.testing.assert_array_equal(clips[0].emg.samples, EMG_16.samples)
    assert clips[1].skeleton is not None
    assert [r.levelname for r in caplog.records if r.name == "flexaqa.clips.cache"] == ["WARNING"]
