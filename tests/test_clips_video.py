"""Video: what we write we can read back, from a path, bytes or a file object; junk is a ClipError."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from flexaqa.clips.errors import ClipError
from flexaqa.clips.video import Video, probe_video, read_frame_folder, read_video, write_frame_folder, write_video


def _moving_square(frames: int = 12, height: int = 48, width: int = 64) -> Video:
    """A white square sliding right over grey: easy to check after lossy coding."""
    data = np.full((frames, height, width, 3), 80, np.uint8)
    for i in range(frames):
        data[i, 16:32, 2 * i : 2 * i + 16] = 255
    return Video(frames=data, fps=25)


@pytest.fixture(scope="module")
def mp4_bytes() -> bytes:
    buffer = io.BytesIO()
    write_video(buffer, _moving_square())
    return buffer.getvalue()


def test_written_mp4_decodes_to_the_same_frames(mp4_bytes):
    video = read_video(mp4_bytes)
    original = _moving_square()
    assert video.frames.shape == original.frames.shape
    assert video.fps == pytest.approx(25)
    assert np.abs(video.frames.astype(int) - original.frames).mean() < 6


def test_mp4_reads_from_path_and_file_object(tmp_path, mp4_bytes):
    path = tmp_path / "set.mp4"
    path.write_bytes(mp4_bytes)
    assert read_video(path).frame_count == 12
    with open(path, "rb") as handle:
        assert read_video(handle).frame_count == 12


def test_probe_reports_fps_count_and_duration(mp4_bytes):
    info = probe_video(mp4_bytes)
    assert (info.frame_count, info.width, info.height) == (12, 64, 48)
    assert info.duration_s == pytest.approx(12 / 25)


def test_max_frames_and_resize(mp4_bytes):
    video = read_video(mp4_bytes, max_frames=5, size=(32, 24))
    assert video.frames.shape == (5, 24, 32, 3)


def test_frame_folder_round_trip(tmp_path):
    write_frame_folder(tmp_path / "View-1", _moving_square(), quality=2)
    names = sorted(p.name for p in (tmp_path / "View-1").iterdir())
    assert names[0] == "img_00001.JPG" and len(names) == 12
    video = read_frame_folder(tmp_path / "View-1", fps=30)
    assert video.frames.shape == (12, 48, 64, 3)
    assert np.abs(video.frames.astype(int) - _moving_square().frames).mean() < 6


def test_frame_folder_quality_trades_fidelity_for_size(tmp_path):
    """qscale 2 keeps the frames closest and writes the most bytes; 31 the least of both."""
    kept = {}
    for quality in (2, 31):
        write_frame_folder(tmp_path / str(quality), _moving_square(), quality=quality)
        size = sum(p.stat().st_size for p in (tmp_path / str(quality)).iterdir())
        error = np.abs(read_frame_folder(tmp_path / str(quality), fps=30).frames.astype(int)
                       - _moving_square().frames).mean()
        kept[quality] = size, error
    assert kept[2][0] > kept[31][0] and kept[2][1] < kept[31][1]


@pytest.mark.parametrize("junk", [b"", b"not a video at all" * 50, b"\x00\x00\x00\x18ftypmp42" + bytes(300)])
def test_corrupt_mp4_bytes_are_a_clip_error(junk):
    with pytest.raises(ClipError) as err:
        read_video(junk)
    assert err.value.field == "video"


def test_truncated_mp4_is_a_clip_error(mp4_bytes):
    with pytest.raises(ClipError) as err:
        read_video(mp4_bytes[: len(mp4_bytes) // 3])
    assert err.value.field == "video"


def test_missing_file_and_empty_folder_are_clip_errors(tmp_path):
    with pytest.raises(ClipError):
        read_video(tmp_path / "nope.mp4")
    with pytest.raises(ClipError, match="img_"):
        read_frame_folder(tmp_path, fps=30)


@pytest.mark.parametrize(
    ("frames", "words"), [(np.zeros((2, 8, 8), np.uint8), "shape"), (np.zeros((2, 8, 8, 3)), "uint8")]
)
def test_bad_frames_name_the_field(frames, words):
    with pytest.raises(ClipError) as err:
        Video(frames=frames, fps=30)
    assert err.value.field == "video.frames"
    assert words in err.value.problem


def test_real_gym_video_decodes_fully(shared_data: Path):
    path = shared_data / "video" / "squat_gym_side.mp4"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    info = probe_video(path)
    assert info.frame_count == 614
    assert info.fps == pytest.approx(29.97, abs=0.01)
    assert (info.width, info.height) == (608, 1080)
    video = read_video(path, size=(76, 135))
    assert video.frames.shape == (614, 135, 76, 3)
    assert video.duration == pytest.approx(20.49, abs=0.01)


def test_frame_folder_longer_than_the_first_buffer(tmp_path):
    """Image sequences do not say how many frames they hold; decoding must grow past its first guess."""
    frames = np.repeat(np.arange(70, dtype=np.uint8)[:, None, None, None] * 3, 16 * 16 * 3).reshape(
        70, 16, 16, 3
    )
    write_frame_folder(tmp_path, Video(frames=frames, fps=30), quality=2)
    video = read_frame_folder(tmp_path, fps=30)
    assert video.frame_count == 70
    assert abs(int(video.frames[69].mean()) - 207) <= 3
