"""Video views: decode MP4 (path, bytes or file object) and FLEX JPEG frame folders with PyAV; write MP4.

Frames are (N, H, W, 3) uint8 RGB. Anything PyAV cannot open or decode becomes a ClipError on "video".
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import IO, TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import BaseModel, field_validator

from flexaqa.clips.base import ClipModel, positive_number
from flexaqa.clips.errors import ClipError
from flexaqa.extras import require

if TYPE_CHECKING:  # PyAV is imported where a video is opened or written: reading keypoints needs none of it
    import av

logger = logging.getLogger(__name__)

VideoSource = str | Path | bytes | bytearray | IO[bytes]
FRAME_PATTERN = "img_%05d.JPG"
"""FLEX names a view's frames img_00001.JPG, img_00002.JPG, ..."""


class VideoInfo(BaseModel):
    """What a container says about its first video stream (frame count by decoding when it does not say)."""

    fps: float
    frame_count: int
    duration_s: float
    width: int
    height: int


class Video(ClipModel):
    """One camera view: ``frames`` (N, H, W, 3) uint8 RGB at ``fps``."""

    field_prefix: ClassVar[str] = "video"

    frames: np.ndarray
    fps: float

    @field_validator("frames", mode="before")
    @classmethod
    def _check_frames(cls, value: object) -> np.ndarray:
        data = np.asarray(value)
        if data.ndim != 4 or data.shape[3] != 3 or min(data.shape) < 1:
            raise ClipError("video.frames", f"expected shape (frames, height, width, 3), got {data.shape}")
        if data.dtype != np.uint8:
            raise ClipError("video.frames", f"expected uint8 RGB, got {data.dtype}")
        return data

    @field_validator("fps", mode="before")
    @classmethod
    def _check_fps(cls, value: object) -> float:
        return positive_number(value, "video.fps")

    @property
    def frame_count(self) -> int:
        return self.frames.shape[0]

    @property
    def duration(self) -> float:
        return self.frame_count / self.fps


@contextmanager
def _open(source: VideoSource | str, **kwargs: object) -> Iterator[av.container.InputContainer]:
    """Open for reading; every failure, here or while decoding inside the block, is a ClipError."""
    require("video", "reading a video")
    import av
    target: object = io.BytesIO(bytes(source)) if isinstance(source, bytes | bytearray) else source
    if isinstance(target, Path):
        target = str(target)
    try:
        with av.open(target, mode="r", **kwargs) as container:  # type: ignore[call-overload]
            if not container.streams.video:
                raise ClipError("video", "no video stream in the input")
            yield container
    except ClipError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, TypeError, RuntimeError) as exc:
        raise ClipError("video", f"cannot decode: {exc}") from None


def _size(size: tuple[int, int] | None) -> tuple[int | None, int | None]:
    """(width, height) to decode at; (None, None) keeps the stream's own."""
    if size is None:
        return None, None
    width, height = size
    if width < 1 or height < 1:
        raise ClipError("size", f"width and height must be >= 1, got {size}")
    return int(width), int(height)


def _decode(
    container: av.container.InputContainer, max_frames: int | None, size: tuple[int, int] | None
) -> np.ndarray:
    """Decode into one preallocated array (sized from the stream's frame count, grown if it lies)."""
    if max_frames is not None and max_frames < 1:
        raise ClipError("max_frames", f"must be >= 1, got {max_frames}")
    width, height = _size(size)
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    capacity = min(filter(None, (stream.frames, max_frames)), default=64)
    out: np.ndarray | None = None
    count = 0
    for frame in container.decode(stream):
        image = frame.to_ndarray(format="rgb24", width=width, height=height)
        if out is None:
            out = np.empty((capacity, *image.shape), np.uint8)
        elif count == len(out):
            out = np.concatenate([out, np.empty_like(out)])
        out[count] = image
        count += 1
        if count == max_frames:
            break
    if out is None:
        raise ClipError("video", "no frame could be decoded")
    return out[:count]


def _fps(stream: av.video.stream.VideoStream) -> float | None:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else None


def probe_video(source: VideoSource) -> VideoInfo:
    """Frame rate, frame count, duration and size of a video, without keeping frames."""
    with _open(source) as container:
        stream = container.streams.video[0]
        fps = _fps(stream)
        count = stream.frames or sum(1 for _ in container.decode(video=0))
        if not fps:
            raise ClipError("video", "the stream gives no frame rate")
        return VideoInfo(
            fps=fps,
            frame_count=count,
            duration_s=count / fps,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
        )


def read_video(
    source: VideoSource, max_frames: int | None = None, size: tuple[int, int] | None = None
) -> Video:
    """Decode a video (MP4 or anything FFmpeg reads) from a path, bytes or a binary file object.

    ``size`` = (width, height) resizes each frame; ``max_frames`` stops early.
    """
    with _open(source) as container:
        fps = _fps(container.streams.video[0])
        frames = _decode(container, max_frames, size)
    if not fps:
        raise ClipError("video", "the stream gives no frame rate")
    return Video(frames=frames, fps=fps)


def read_frame_folder(
    folder: str | Path, fps: float, max_frames: int | None = None, size: tuple[int, int] | None = None
) -> Video:
    """Decode a FLEX view folder of numbered JPEGs (``img_%05d.JPG``) as one image sequence."""
    folder = Path(folder)
    if not any(re.fullmatch(r"img_\d{5}\.JPG", p.name) for p in folder.glob("img_*")):
        raise ClipError("video", f"no frames named {FRAME_PATTERN} in {folder}")
    rate = positive_number(fps, "video.fps")
    options = {"framerate": str(Fraction(rate).limit_denominator(1001)), "start_number_range": "100000"}
    with _open(str(folder / FRAME_PATTERN), format="image2", options=options) as container:
        frames = _decode(container, max_frames, size)
    return Video(frames=frames, fps=rate)


def write_video(target: str | Path | IO[bytes], video: Video, codec: str = "libx264", crf: int = 18) -> None:
    """Encode an MP4 (H.264, yuv420p) to a path or a writable binary file object.

    Width and height are cropped to even numbers, as yuv420p requires.
    """
    require("video", "writing a video")
    import av
    frames = video.frames[:, : video.frames.shape[1] // 2 * 2, : video.frames.shape[2] // 2 * 2]
    if frames.shape[1] == 0 or frames.shape[2] == 0:
        raise ClipError("video.frames", "frames must be at least 2x2 pixels to encode")
    rate = Fraction(video.fps).limit_denominator(1001)
    dest = str(target) if isinstance(target, Path) else target
    with av.open(dest, mode="w", format="mp4") as container:
        stream = container.add_stream(codec, rate=rate, options={"crf": str(crf)})
        if not isinstance(stream, av.VideoStream):
            raise ClipError("codec", f"{codec} is not a video codec")
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))


def write_frame_folder(folder: str | Path, video: Video, quality: int = 3) -> None:
    """Write frames as FLEX-style numbered JPEGs (MJPEG ``qscale`` ``quality``: 2 best, 31 worst)."""
    import av
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frames = video.frames[:, : video.frames.shape[1] // 2 * 2, : video.frames.shape[2] // 2 * 2]
    with av.open(str(folder / FRAME_PATTERN), mode="w", format="image2") as container:
        stream = container.add_stream("mjpeg", rate=Fraction(video.fps).limit_denominator(1001))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuvj420p"
        stream.codec_context.qmin = stream.codec_context.qmax = quality  # one fixed quantiser per frame
        for frame in frames:
            image = av.VideoFrame.from_ndarray(frame, format="rgb24")
            container.mux(stream.encode(image))
        container.mux(stream.encode(None))
    logger.debug("wrote %d frames to %s", len(frames), folder)
