"""Read skeletons (CSV, NPY, JSON) and EMG (CSV, NPY, MAT) from files into validated models."""

from __future__ import annotations

import csv
import json
import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io
from pydantic import BaseModel, ConfigDict

from clips.base import as_float_array, positive_number
from clips.emg import EMG
from clips.errors import ClipError
from clips.layouts import get_layout, map_confidence_to_internal, map_to_internal
from clips.skeleton import Skeleton

logger = logging.getLogger(__name__)

CONFIDENCE_SUFFIXES = ("v", "visibility", "c", "conf", "confidence", "score")
RATE_KEYS = (
    "samplingfrequency",
    "sampling_frequency",
    "samplingrate",
    "sampling_rate",
    "samplerate",
    "fsamp",
    "srate",
    "fs",
)
NAME_KEYS = ("description", "channel_names", "channelnames", "channels", "labels", "names")
TIME_COLUMNS = ("time", "t", "timestamp", "time_s")


class LabelledSkeleton(BaseModel):
    """A skeleton read from a table, its per-frame labels when the table has them, and what it lacks."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    skeleton: Skeleton
    labels: list[str] | None = None
    missing: list[str]
    """Internal joints absent in every frame."""


def _text_rows(path: str | Path, field: str) -> list[list[str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ClipError(field, f"cannot read {path}: {exc}") from None
    if len(rows) < 2:
        raise ClipError(field, f"{path} needs a header row and at least one data row")
    return rows


def _cell(text: str, row: int, column: str, field: str) -> float:
    if not text.strip():
        return np.nan
    try:
        return float(text)
    except ValueError:
        raise ClipError(field, f"row {row} column {column!r}: not a number: {text!r}") from None


def read_skeleton_csv(
    path: str | Path,
    fps: float,
    layout: str = "MediaPipe-33",
    use_depth: bool = False,
    label_column: str = "label",
) -> LabelledSkeleton:
    """Read a table with ``<joint>_x``, ``<joint>_y`` (``_z``, ``_v``) columns named after layout joints.

    Any subset of the layout's joints may be present; the rest are missing. ``use_depth`` keeps ``_z``
    (MediaPipe's relative depth is rough, so 2D is the default). A ``label_column`` gives per-frame labels.
    """
    spec = get_layout(layout)
    rows = _text_rows(path, "skeleton.csv")
    header = [name.strip() for name in rows[0]]
    body = rows[1:]
    for r, row in enumerate(body):
        if len(row) != len(header):
            raise ClipError("skeleton.csv", _ragged(path, r + 2, len(row), len(header)))
    dims = 3 if use_depth else 2
    source = {name: i for i, name in enumerate(spec.joints)}
    positions = np.full((len(body), len(spec.joints), dims), np.nan)
    confidence = np.full((len(body), len(spec.joints)), np.nan)
    axes: dict[str, set[str]] = {}
    for col, name in enumerate(header):
        joint, _, suffix = name.rpartition("_")
        if joint not in source:
            continue
        if suffix in ("x", "y", "z")[:dims]:
            target = positions[:, source[joint], "xyz".index(suffix)]
            axes.setdefault(joint, set()).add(suffix)
        elif suffix in CONFIDENCE_SUFFIXES:
            target = confidence[:, source[joint]]
        else:
            continue
        target[:] = [_cell(row[col], r + 2, name, "skeleton.csv") for r, row in enumerate(body)]
    if not axes:
        raise ClipError(
            "skeleton.csv", f"no column named <joint>_x/<joint>_y for any {spec.name} joint in {path}"
        )
    for joint, present in axes.items():
        absent = [f"{joint}_{axis}" for axis in "xyz"[:dims] if axis not in present]
        if absent:
            raise ClipError("skeleton.csv", f"joint {joint} lacks column(s) {', '.join(absent)}")
    positions[np.isnan(positions).any(axis=2)] = np.nan  # an empty cell drops the whole point
    labels = None
    if label_column in header:
        col = header.index(label_column)
        labels = [row[col].strip() for row in body]
    internal, missing = map_to_internal(positions, spec)
    conf = None if np.isnan(confidence).all() else np.clip(map_confidence_to_internal(confidence, spec), 0, 1)
    skeleton = Skeleton(positions=internal, fps=fps, layout=spec.name, confidence=conf)
    return LabelledSkeleton(skeleton=skeleton, labels=labels, missing=missing)


def _load_npy(path: str | Path, field: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ClipError(field, f"cannot read {path}: {exc}") from None


def skeleton_from_array(
    array: object, layout: str, fps: float, has_confidence: bool = False
) -> LabelledSkeleton:
    """Build a skeleton from (T, J, C) keypoints in ``layout`` order; last of C is confidence if flagged."""
    data = as_float_array(array, "skeleton.positions")
    if data.ndim != 3 or data.shape[2] < 2 + has_confidence:
        raise ClipError("skeleton.positions", f"expected shape (frames, joints, coords), got {data.shape}")
    coords = data[:, :, :-1] if has_confidence else data
    internal, missing = map_to_internal(coords, layout)
    conf = map_confidence_to_internal(data[:, :, -1], layout) if has_confidence else None
    skeleton = Skeleton(positions=internal, fps=fps, layout=get_layout(layout).name, confidence=conf)
    return LabelledSkeleton(skeleton=skeleton, missing=missing)


def read_skeleton_npy(
    path: str | Path, layout: str, fps: float, has_confidence: bool = False
) -> LabelledSkeleton:
    """Read a (T, J, C) ``.npy`` in ``layout`` joint order."""
    return skeleton_from_array(_load_npy(path, "skeleton.npy"), layout, fps, has_confidence)


def read_skeleton_json(source: str | Path | Mapping[str, Any]) -> LabelledSkeleton:
    """Read ``{"layout": ..., "fps": ..., "frames": [[[x, y, (z)], ...], ...], "confidence": optional}``."""
    if isinstance(source, Mapping):
        doc: Any = source
    else:
        try:
            doc = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ClipError("skeleton.json", f"cannot read {source}: {exc}") from None
    if not isinstance(doc, Mapping):
        raise ClipError("skeleton.json", "expected an object with layout, fps and frames")
    for key in ("layout", "fps", "frames"):
        if key not in doc:
            raise ClipError(f"skeleton.{key}", "required")
    frames = as_float_array(doc["frames"], "skeleton.frames")
    if frames.ndim != 3:
        raise ClipError("skeleton.frames", f"expected frames x joints x coordinates, got shape {frames.shape}")
    if "confidence" in doc and doc["confidence"] is not None:
        conf = as_float_array(doc["confidence"], "skeleton.confidence")
        if conf.shape != frames.shape[:2]:
            raise ClipError("skeleton.confidence", f"expected shape {frames.shape[:2]}, got {conf.shape}")
        frames = np.concatenate([frames, conf[..., None]], axis=-1)
        return skeleton_from_array(frames, doc["layout"], doc["fps"], has_confidence=True)
    return skeleton_from_array(frames, doc["layout"], doc["fps"])


def read_emg_csv(path: str | Path, sampling_rate: float | None = None) -> EMG:
    """Read EMG from a CSV, one row per sample, whose header row names the channels.

    A first row of numbers is taken as data (channels then go unnamed). A time column (``time``, ``t``,
    ``timestamp``, ``time_s``) is dropped and, when no rate is given, sets the rate from its median step.
    """
    try:
        with open(path, encoding="utf-8-sig") as handle, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # an empty file is reported below, as a ClipError
            first = handle.readline()
            data = np.loadtxt(handle, delimiter=",", ndmin=2)
        header = [name.strip() for name in first.split(",")]
        if _is_numeric(header):
            data = np.vstack([np.array(header, dtype=np.float64), data]) if data.size else data
            header = [f"ch{i + 1}" for i in range(len(header))]
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ClipError("emg.csv", _ragged_row(path, _header_width(path)) or f"cannot read {path}: {exc}") from None
    if data.size == 0:
        raise ClipError("emg.csv", f"{path} has no samples")
    if data.shape[1] != len(header):
        raise ClipError("emg.csv", _ragged(path, 2, data.shape[1], len(header)))
    time_cols = [i for i, name in enumerate(header) if name.lower() in TIME_COLUMNS]
    if time_cols:
        if sampling_rate is None and data.shape[0] > 1:
            step = float(np.median(np.diff(data[:, time_cols[0]])))
            sampling_rate = 1.0 / step if step > 0 else None
        keep = [i for i in range(len(header)) if i not in time_cols]
        data, header = data[:, keep], [header[i] for i in keep]
    if sampling_rate is None:
        raise ClipError("emg.sampling_rate", "missing: pass sampling_rate=... (no usable time column)")
    return EMG(samples=data, sampling_rate=sampling_rate, channels=header)


def _ragged(path: str | Path, row: int, width: int, header: int) -> str:
    return f"{path} row {row} has {width} column(s), but the header has {header}: every row needs one cell per column"


def _header_width(path: str | Path) -> int | None:
    """How many columns the first line of a CSV names (None when it cannot be read)."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return handle.readline().count(",") + 1
    except (OSError, UnicodeDecodeError):
        return None


def _ragged_row(path: str | Path, width: int | None) -> str | None:
    """The first row whose column count differs from the header's, said with file and row; looked for only
    after a parse failed, so reading a well-formed file costs nothing extra."""
    if width is None:
        return None
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            cells = line.count(",") + 1
            if line.strip() and cells != width:
                return _ragged(path, number, cells, width)
    return None


def _is_numeric(cells: list[str]) -> bool:
    try:
        [float(cell) for cell in cells]
    except ValueError:
        return False
    return True


def read_emg_npy(path: str | Path, sampling_rate: float, channels: Sequence[str] | None = None) -> EMG:
    """Read a (samples, channels) ``.npy``."""
    return EMG(samples=_load_npy(path, "emg.npy"), sampling_rate=sampling_rate, channels=channels)


def _unwrap(value: object) -> object:
    """MATLAB cells arrive as object arrays of size 1: take what is inside."""
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.item()
    return value


def _mat_names(value: object) -> list[str] | None:
    value = _unwrap(value)
    if not isinstance(value, np.ndarray):
        return None
    names = [str(np.ravel(_unwrap(item))[0]) if np.size(_unwrap(item)) else "" for item in value.ravel()]
    return [name.strip() for name in names]


def read_emg_mat(
    path: str | Path,
    channels: Sequence[int] | None = None,
    sampling_rate: float | None = None,
    key: str | None = None,
) -> EMG:
    """Read EMG from a MATLAB v5 file: the largest 2D numeric variable, or ``key``.

    Samples run along the longer axis (a recording has more samples than channels).
    ``channels`` selects columns (0-based). The rate comes from ``sampling_rate`` or a variable such as
    ``SamplingFrequency``/``fs``; channel names from a same-length ``Description``/``channel_names`` cell.
    """
    try:
        mat = scipy.io.loadmat(str(path))
    except Exception as exc:  # loadmat raises many kinds on a corrupt or v7.3 file
        raise ClipError("emg.mat", f"cannot read {path}: {exc}") from None
    variables = {k: _unwrap(v) for k, v in mat.items() if not k.startswith("__")}
    if key is not None:
        if key not in variables:
            raise ClipError("emg.mat", f"no variable {key!r}; variables: {', '.join(variables)}")
        data = variables[key]
    else:
        arrays = [
            v
            for v in variables.values()
            if isinstance(v, np.ndarray) and v.ndim == 2 and v.dtype.kind in "fiu"
        ]
        if not arrays:
            raise ClipError("emg.mat", f"no 2D numeric variable in {path}")
        data = max(arrays, key=lambda a: a.size)
    data = as_float_array(data, "emg.samples")
    if data.ndim == 2 and data.shape[0] < data.shape[1]:
        data = data.T
    lowered = {k.lower(): k for k in variables}
    if sampling_rate is None:
        rate_key = next((lowered[k] for k in RATE_KEYS if k in lowered), None)
        if rate_key is None:
            raise ClipError(
                "emg.sampling_rate", f"missing: no variable like {RATE_KEYS[0]} in {path}; pass it"
            )
        sampling_rate = positive_number(
            np.ravel(variables[rate_key])[0] if np.size(variables[rate_key]) else None, "emg.sampling_rate"
        )
    names = None
    for name_key in (lowered[k] for k in NAME_KEYS if k in lowered):
        found = _mat_names(variables[name_key])
        if found and data.ndim == 2 and len(found) == data.shape[1] and len(set(found)) == len(found):
            names = found
            break
    emg = EMG(samples=data, sampling_rate=sampling_rate, channels=names)
    return emg if channels is None else emg.select(list(channels))
