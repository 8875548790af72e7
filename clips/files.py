"""Open a clip from whatever file a user has: one entry point for the command line and the service.

Supported: video (``.mp4`` and other containers PyAV reads; the skeleton comes from the optional pose
extra), ``.npz`` clip bundles (skeleton on the internal joints, optional sEMG, written by
:func:`save_bundle`), skeleton tables (``.csv``: MediaPipe-style ``<joint>_x`` columns, or a FLEX
``skeleton_points.csv``), skeleton ``.json`` and ``.npy`` files, and sEMG beside them (``.csv``, ``.npy``,
``.mat``). Every failure is a :class:`ClipError` that names the file and the problem.
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import numpy as np

from flexaqa.clips.base import NPZ_SIGNATURE, require_signature
from flexaqa.clips.clip import Clip
from flexaqa.clips.emg import EMG
from flexaqa.clips.errors import ClipError, ClipTooLarge
from flexaqa.clips.flex import read_skeleton_points
from flexaqa.clips.layouts import JOINTS
from flexaqa.clips.pose import available as pose_available
from flexaqa.clips.pose import estimate_pose
from flexaqa.clips.readers import (
    json_carries_rate,
    read_emg_csv,
    read_emg_mat,
    read_emg_npy,
    read_openpose_folder,
    read_skeleton_csv,
    read_skeleton_json,
    read_skeleton_npy,
)
from flexaqa.clips.skeleton import Skeleton
from flexaqa.clips.video import probe_video, read_video

SKELETON_SUFFIXES = (".npz", ".csv", ".json", ".npy")
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv")
POSE_LONG_SIDE = 480
"""Frames are decoded at most this large for pose estimation (MediaPipe works at 256 px internally)."""
EMG_SUFFIXES = (".csv", ".npy", ".mat")
RATE_SUFFIXES = (".npz", ".json", *VIDEO_SUFFIXES)
"""Files that carry their own frame rate; a ``.csv`` or ``.npy`` skeleton, an OpenPose folder and a ``.json``
written by a pose detector (not flexaqa's own form) do not."""
DEFAULT_FPS = 30.0
"""The frame rate assumed for a skeleton file without one (FLEX's and most phone cameras'); always stated."""
FPS_RANGE = (1.0, 1000.0)
"""Plausible skeleton frame rates (frames per second): a rate outside is a typo or a different unit."""
EMG_RATE_RANGE = (100.0, 100_000.0)
"""Plausible sEMG sampling rates (Hz): below 100 Hz the muscle signal is lost, above 100 kHz no sensor samples."""


def check_rate(value: float, limits: tuple[float, float], field: str, unit: str) -> float:
    """``value`` when it lies within ``limits``; else a ClipError that gives the allowed range."""
    low, high = limits
    if not low <= value <= high:  # also refuses NaN
        raise ClipError(field, f"{value:g} {unit} is outside the plausible range {low:g}-{high:g} {unit}")
    return value


def assumed_fps(path: str | Path, fps: float | None) -> float | None:
    """The frame rate that :func:`load_clip` will assume for ``path``: :data:`DEFAULT_FPS` when the caller
    gave none and the file carries none, else None (nothing assumed)."""
    path = Path(path)
    if fps is not None:
        return None
    if path.suffix.lower() == ".json" and path.is_file():
        return None if json_carries_rate(path) else DEFAULT_FPS
    return None if path.suffix.lower() in RATE_SUFFIXES and not path.is_dir() else DEFAULT_FPS


def save_bundle(path: str | Path, clip: Clip) -> None:
    """Write a clip's action, skeleton and sEMG as one compressed ``.npz``."""
    arrays: dict[str, np.ndarray] = {"action": np.array(clip.action)}
    if clip.skeleton is not None:
        arrays |= {"skeleton_positions": clip.skeleton.positions.astype(np.float32),
                   "skeleton_fps": np.array(clip.skeleton.fps), "skeleton_layout": np.array(clip.skeleton.layout)}
    if clip.emg is not None:
        arrays |= {"emg_samples": clip.emg.samples.astype(np.float32),
                   "emg_rate": np.array(clip.emg.sampling_rate),
                   "emg_channels": np.array(list(clip.emg.channel_names))}
    np.savez_compressed(path, allow_pickle=False, **arrays)  # as load_bundle reads: no object arrays


@dataclass(frozen=True)
class BundleLimits:
    """How much one bundle may unpack to: checked on the sizes its zip directory and .npy headers declare,
    before any member is decompressed, so a small file that inflates to gigabytes costs nothing."""

    max_bytes: int = 1024**3
    """Uncompressed bytes of all members together (the zip directory's declared sizes)."""
    max_seconds: float | None = None
    """Longest skeleton or sEMG recording, from its declared length and stored rate (None: no limit)."""


class LoadOptions(TypedDict, total=False):
    """The keyword options of :func:`load_clip` that callers pass through unchanged."""

    layout: str
    emg: str | Path | None
    emg_rate: float | None
    bundle_limits: BundleLimits


BUNDLE_MEMBERS = ("action", "skeleton_positions", "skeleton_fps", "skeleton_layout", "emg_samples", "emg_rate",
                  "emg_channels")
"""The members :func:`save_bundle` writes; any other member of an archive is never decompressed."""
RECORDINGS = {"skeleton_positions": ("skeleton_fps", "skeleton.positions"), "emg_samples": ("emg_rate", "emg.samples")}
"""Each recording member of a bundle, the member giving its rate, and the field its length is reported under."""
HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def load_bundle(path: str | Path, action: str | None = None, limits: BundleLimits = BundleLimits()) -> Clip:
    """Read a clip written by :func:`save_bundle`; a given ``action`` must agree with the stored one. A bundle
    over ``limits`` is refused with a :class:`ClipTooLarge` naming the member, before it is decompressed."""
    require_signature(path, NPZ_SIGNATURE, "an .npz clip bundle", "clip.file")
    try:
        with zipfile.ZipFile(path) as archive:
            doc = _read_members(archive, path, limits)
    except ClipError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # damaged members, a lying header
        raise ClipError("clip.file", f"cannot read {path} as an .npz clip bundle: {exc}") from None
    for key in ("skeleton_positions", "skeleton_fps", "emg_samples", "emg_rate"):
        if key in doc and doc[key].dtype.kind not in "fiu":
            raise ClipError(f"clip.{key}", f"must be numeric, got {doc[key].dtype}")
    skeleton = emg = None
    if "skeleton_positions" in doc:
        skeleton = Skeleton(positions=doc["skeleton_positions"].astype(np.float64),
                            fps=_scalar(doc, "skeleton_fps"),
                            layout=str(doc.get("skeleton_layout", "FLEX-21")))
    if "emg_samples" in doc:
        if "emg_rate" not in doc:
            raise ClipError("emg.sampling_rate", f"missing in {path}")
        channels = tuple(str(c) for c in doc["emg_channels"]) if "emg_channels" in doc else None
        emg = EMG(samples=doc["emg_samples"].astype(np.float64), sampling_rate=_scalar(doc, "emg_rate"),
                  channels=channels)
    stored = str(doc["action"]) if "action" in doc else None
    if action and stored and action != stored:
        raise ClipError("clip.action", f"{path} holds {stored}, but {action} was asked for: leave the action out, "
                        "or assess a clip of that action")
    chosen = action or stored
    if not chosen:
        raise ClipError("clip.action", f"{path} names no action; give one with --action")
    return Clip(action=chosen, skeleton=skeleton, emg=emg)


def _read_members(archive: zipfile.ZipFile, path: str | Path, limits: BundleLimits) -> dict[str, np.ndarray]:
    """The bundle's own members as arrays, each checked against ``limits`` on its declared size first: the
    rates are read, then the recordings' declared lengths checked, and only then the recordings read."""
    members = archive.infolist()
    total = sum(info.file_size for info in members)
    if total > limits.max_bytes:
        largest = max(members, key=lambda info: info.file_size)
        raise ClipTooLarge(f"clip.{largest.filename.removesuffix('.npy')}",
                           f"{path} unpacks to {total / 2**20:.0f} MB, {largest.file_size / 2**20:.0f} MB of it in "
                           f"{largest.filename}; a bundle may unpack to at most {limits.max_bytes / 2**20:.0f} MB",
                           "max_bytes")
    known = {info.filename.removesuffix(".npy"): info for info in members
             if info.filename.removesuffix(".npy") in BUNDLE_MEMBERS}
    shapes = {key: _declared_shape(archive, info, key, path) for key, info in known.items()}
    doc = {key: _read(archive, info) for key, info in known.items() if key not in RECORDINGS}
    for key, (rate_key, field) in RECORDINGS.items():
        rate = doc.get(rate_key)
        if limits.max_seconds is None or key not in shapes or not shapes[key] or rate is None or rate.size != 1 \
                or rate.dtype.kind not in "fiu" or not rate.reshape(-1)[0] > 0:
            continue  # an unusable rate is refused, naming it, when the clip is built
        seconds = shapes[key][0] / float(rate.reshape(-1)[0])
        if seconds > limits.max_seconds:
            raise ClipTooLarge(field, f"{seconds:.0f} s of recording in the bundle's {key}; one request carries at "
                               f"most {limits.max_seconds:g} s", "max_seconds")
    return doc | {key: _read(archive, known[key]) for key in RECORDINGS if key in known}


def _declared_shape(archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, path: str | Path) -> tuple[int, ...]:
    """The shape a member's .npy header declares, read without decompressing the data; a member whose data
    would not fit in its declared uncompressed size, or that holds Python objects, is refused."""
    with archive.open(info) as handle:
        version = np.lib.format.read_magic(handle)  # a ValueError when it is no .npy: "cannot read" the file
        if version not in HEADER_READERS:
            raise ClipError(f"clip.{key}", f"unsupported .npy format version {version[0]}.{version[1]}")
        shape, _, dtype = HEADER_READERS[version](handle)
    if dtype.hasobject:
        raise ClipError("clip.file", f"cannot read {path} as an .npz clip bundle: its {key} holds Python objects")
    if math.prod(shape) * dtype.itemsize > info.file_size:
        raise ClipError(f"clip.{key}", f"declares {shape} {dtype} but holds only {info.file_size} bytes: damaged")
    return shape


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    with archive.open(info) as handle:
        return np.lib.format.read_array(handle, allow_pickle=False)


def _scalar(doc: dict[str, np.ndarray], key: str) -> float:
    value = doc.get(key)
    if value is None or value.size != 1:
        raise ClipError(f"clip.{key}", "must be one number")
    return float(value.reshape(-1)[0])


def load_skeleton(path: str | Path, layout: str = "MediaPipe-33", fps: float = 30.0) -> Skeleton:
    """A skeleton from a ``.csv`` (named columns, or a FLEX ``skeleton_points.csv``), ``.json`` (flexaqa's,
    an OpenPose frame or COCO keypoints), ``.npy``, or a folder of OpenPose per-frame ``.json`` files."""
    path = Path(path)
    suffix = path.suffix.lower()
    if path.is_dir():
        return read_openpose_folder(path, fps).skeleton
    if not path.is_file():
        raise ClipError("skeleton.file", f"no such file: {path}")
    if suffix == ".json":
        return read_skeleton_json(path, fps).skeleton
    if suffix == ".npy":
        return read_skeleton_npy(path, layout, fps).skeleton
    if suffix == ".csv":
        with path.open(encoding="utf-8", errors="replace") as handle:
            columns = handle.readline().count(",") + 1
        if layout == "FLEX-21" or columns == 3 * len(JOINTS):
            return read_skeleton_points(path, fps)
        return read_skeleton_csv(path, fps, layout).skeleton
    raise ClipError("skeleton.file", f"unsupported skeleton file {path.name}; use one of {SKELETON_SUFFIXES} "
                    "or a folder of OpenPose .json frames")


def load_emg(path: str | Path, sampling_rate: float | None = None) -> EMG:
    """sEMG from a ``.csv``, ``.npy`` or ``.mat`` file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ClipError("emg.file", f"no such file: {path}")
    if suffix == ".csv":
        return read_emg_csv(path, sampling_rate)
    if suffix == ".mat":
        return read_emg_mat(path, sampling_rate=sampling_rate)
    if suffix == ".npy":
        if sampling_rate is None:
            raise ClipError("emg.sampling_rate", "required for .npy sEMG (an .npy file does not store it)")
        return read_emg_npy(path, sampling_rate)
    raise ClipError("emg.file", f"unsupported sEMG file {path.name}; use one of {EMG_SUFFIXES}")


def load_clip(path: str | Path, action: str | None = None, layout: str = "MediaPipe-33", fps: float | None = None,
              emg: str | Path | None = None, emg_rate: float | None = None,
              bundle_limits: BundleLimits = BundleLimits()) -> Clip:
    """A clip from a bundle (read within ``bundle_limits``) or a skeleton file, with optional sEMG from a second
    file. A skeleton file without a frame rate is read at ``fps``, else at :data:`DEFAULT_FPS` (see
    :func:`assumed_fps`)."""
    path = Path(path)
    fps = DEFAULT_FPS if fps is None else check_rate(fps, FPS_RANGE, "skeleton.fps", "fps")
    if emg_rate is not None:
        check_rate(emg_rate, EMG_RATE_RANGE, "emg.sampling_rate", "Hz")
    if path.suffix.lower() == ".npz":
        clip = load_bundle(path, action, bundle_limits)
    elif path.suffix.lower() in VIDEO_SUFFIXES:
        if not action:
            raise ClipError("clip.action", f"{path.name} does not say which action it shows; give one with --action")
        if not pose_available():
            raise ClipError("clip.file", f"{path.name} is a video, and reading a pose from video needs the pose "
                            "extra: pip install 'flexaqa[pose]' (or give a skeleton file)")
        info = probe_video(path)
        scale = min(1.0, POSE_LONG_SIDE / max(info.width, info.height))
        video = read_video(path, size=(round(info.width * scale), round(info.height * scale)))
        clip = Clip(action=action, skeleton=estimate_pose(video))
    else:
        if not action:
            raise ClipError("clip.action", f"{path.name} does not say which action it shows; give one with --action")
        clip = Clip(action=action, skeleton=load_skeleton(path, layout, fps))
    if emg is not None:
        clip = Clip(action=clip.action, skeleton=clip.skeleton, emg=load_emg(emg, emg_rate), views=clip.views)
    return clip
