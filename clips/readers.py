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
from pydantic import BaseModel, ConfigDict

from flexaqa.clips.base import NPY_SIGNATURE, as_float_array, positive_number, require_signature
from flexaqa.clips.emg import EMG
from flexaqa.clips.errors import ClipError
from flexaqa.clips.layouts import (
    Layout,
    ear_columns,
    get_layout,
    is_camera,
    map_confidence_to_internal,
    map_ears,
    map_to_internal,
)
from flexaqa.clips.skeleton import Skeleton

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
FRAME_COLUMNS = ("frame", "frame_index", "frame_id")


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
    """Read a table with ``<joint>_x``, ``<joint>_y`` (``_z``, and a confidence or visibility column such as
    ``_v`` or ``_score``) columns named after layout joints.

    Any subset of the layout's joints may be present; the rest are missing. A column that is neither a
    layout joint's nor the ``label_column``, a time or a frame column is refused with the unknown and the
    missing columns named: a table written for another layout would otherwise be read as a few joints.
    ``use_depth`` keeps ``_z`` (MediaPipe's relative depth is rough, so 2D is the default).
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
    unknown = []
    for col, name in enumerate(header):
        joint, _, suffix = name.rpartition("_")
        if joint not in source or suffix not in ("x", "y", "z", *CONFIDENCE_SUFFIXES):
            if name.lower() not in (label_column, *TIME_COLUMNS, *FRAME_COLUMNS):
                unknown.append(name)
            continue
        if suffix == "z" and dims == 2:
            continue
        values = [_cell(row[col], r + 2, name, "skeleton.csv") for r, row in enumerate(body)]
        if suffix in CONFIDENCE_SUFFIXES:
            confidence[:, source[joint]] = values
            _check_unit_interval(confidence[:, source[joint]], path, name)
        else:
            positions[:, source[joint], "xyz".index(suffix)] = values
            axes.setdefault(joint, set()).add(suffix)
    partial = [f"{joint}_{axis}" for joint, present in axes.items() for axis in "xyz"[:dims] if axis not in present]
    if unknown or partial or not axes:
        absent = [f"{joint}_{axis}" for joint in spec.joints if joint not in axes for axis in "xy"]
        missing = partial or absent
        raise ClipError("skeleton.csv", f"{path} does not match the {spec.name} layout: "
                        + (f"unknown column(s) {', '.join(unknown)}; " if unknown else "")
                        + f"missing column(s) {', '.join(missing)} (columns are <joint>_x, <joint>_y and "
                        f"optionally <joint>_v, named after {spec.name} joints; pick the layout with --layout)")
    positions[np.isnan(positions).any(axis=2)] = np.nan  # an empty cell drops the whole point
    labels = None
    if label_column in header:
        col = header.index(label_column)
        labels = [row[col].strip() for row in body]
    has_confidence = not np.isnan(confidence).all()
    skeleton = _skeleton(positions, confidence if has_confidence else None, spec, fps)
    return LabelledSkeleton(skeleton=skeleton, labels=labels, missing=skeleton.missing_joints())


def _check_unit_interval(values: np.ndarray, path: str | Path, column: str) -> None:
    """A confidence or visibility outside [0, 1] is another scale (a percentage, a logit): refuse it."""
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero((values < 0) | (values > 1))
    if bad.size:
        raise ClipError("skeleton.csv", f"{path} row {bad[0] + 2} column {column!r}: confidence "
                        f"{values[bad[0]]:g} is outside [0, 1] ({bad.size} value(s) are)")


def _load_npy(path: str | Path, field: str) -> np.ndarray:
    require_signature(path, NPY_SIGNATURE, "a .npy array", field)
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ClipError(field, f"cannot read {path}: {exc}") from None


def skeleton_from_array(
    array: object, layout: str, fps: float, has_confidence: bool | None = None
) -> LabelledSkeleton:
    """Build a skeleton from (T, J, C) keypoints in ``layout`` order; the last of C is a confidence if flagged.

    Unflagged (None), a camera layout's array carries one as pose detectors write them: (T, J, 3) is x, y,
    confidence for OpenPose, COCO-17 and MediaPipe-33 ((T, J, 4) adds MediaPipe's z before it), and
    (T, J, 2) has none; a motion-capture layout's array never does.
    """
    data = as_float_array(array, "skeleton.positions")
    spec = get_layout(layout)
    if has_confidence is None:
        has_confidence = data.ndim == 3 and is_camera(spec) and data.shape[2] - 1 in spec.dims
    if data.ndim != 3 or data.shape[2] < 2 + has_confidence:
        raise ClipError("skeleton.positions", f"expected shape (frames, joints, coords), got {data.shape}")
    coords = data[:, :, :-1] if has_confidence else data
    skeleton = _skeleton(coords, data[:, :, -1] if has_confidence else None, spec, fps)
    return LabelledSkeleton(skeleton=skeleton, missing=skeleton.missing_joints())


def _skeleton(coords: np.ndarray, confidence: np.ndarray | None, spec: Layout, fps: float) -> Skeleton:
    """(T, J, D) keypoints and their (T, J) confidence in ``spec`` order -> a skeleton on the internal joints,
    the ears kept beside them where the layout has ears."""
    internal, _ = map_to_internal(coords, spec)
    ears, columns = map_ears(coords, spec), ear_columns(spec)
    return Skeleton(positions=internal, fps=fps, layout=spec.name, ears=ears,
                    confidence=None if confidence is None else map_confidence_to_internal(confidence, spec),
                    ear_confidence=None if confidence is None or columns is None else confidence[:, columns])


def read_skeleton_npy(
    path: str | Path, layout: str, fps: float, has_confidence: bool | None = None
) -> LabelledSkeleton:
    """Read a (T, J, C) ``.npy`` in ``layout`` joint order (see :func:`skeleton_from_array` for C)."""
    return skeleton_from_array(_load_npy(path, "skeleton.npy"), layout, fps, has_confidence)


def read_skeleton_json(source: str | Path | Mapping[str, Any], fps: float = 30.0) -> LabelledSkeleton:
    """Read a skeleton ``.json`` in whichever of these forms it comes:

    - flexaqa's own ``{"layout": ..., "fps": ..., "frames": [[[x, y, (z)], ...], ...], "confidence": optional}``;
    - one OpenPose frame (``{"people": [{"pose_keypoints_2d": [x, y, c, ...]}]}``), read at ``fps``;
    - COCO keypoints as pose libraries export them: a results list (``[{"image_id", "keypoints", "score"}]``)
      or a dataset (``{"annotations": [...]}``), one image per frame in ``image_id`` order, read at ``fps``.
    """
    doc = source if isinstance(source, Mapping) else _json_document(source, "skeleton.json")
    if isinstance(doc, Mapping) and "people" in doc:
        return openpose_frames([doc], fps, "the document" if isinstance(source, Mapping) else str(source))
    if isinstance(doc, list) or (isinstance(doc, Mapping) and "annotations" in doc):
        return coco_keypoints(doc, fps)
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
    return skeleton_from_array(frames, doc["layout"], doc["fps"], has_confidence=False)


def json_carries_rate(path: str | Path) -> bool:
    """Whether a skeleton ``.json`` states its frame rate (flexaqa's own form does; detector output does not)."""
    try:
        doc = _json_document(path, "skeleton.json")
    except ClipError:
        return True  # the reader will say what is wrong; nothing is assumed about a file that is refused
    return isinstance(doc, Mapping) and "fps" in doc


def _json_document(path: str | Path, field: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ClipError(field, f"cannot read {path}: {exc}") from None


def read_openpose_folder(folder: str | Path, fps: float) -> LabelledSkeleton:
    """Read a folder of OpenPose per-frame files (``*_keypoints.json``, as ``--write_json`` writes them), in
    file-name order, which is frame order."""
    files = sorted(Path(folder).glob("*.json"))
    if not files:
        raise ClipError("skeleton.folder", f"{folder} holds no OpenPose .json frame files (*_keypoints.json)")
    return openpose_frames([_json_document(f, "skeleton.json") for f in files], fps, str(folder))


def openpose_frames(docs: Sequence[Any], fps: float, where: str) -> LabelledSkeleton:
    """Keypoints of OpenPose frames: the layout from the keypoint count (18: COCO model, 25: BODY_25); per
    frame the person with the highest summed confidence (the lifter filmed); a frame with nobody, and a
    keypoint OpenPose did not find (written as 0, 0, 0), are missing."""
    layouts = {3 * len(get_layout(name).joints): name for name in ("OpenPose-18", "OpenPose-25")}
    frames: list[np.ndarray | None] = []
    for i, doc in enumerate(docs):
        people = doc.get("people") if isinstance(doc, Mapping) else None
        if not isinstance(people, list):
            raise ClipError("skeleton.json", f"{where} frame {i}: not an OpenPose frame (no \"people\" list)")
        flat = [as_float_array(p.get("pose_keypoints_2d", []), "skeleton.pose_keypoints_2d") for p in people
                if isinstance(p, Mapping)]
        flat = [f for f in flat if f.size]
        for f in flat:
            if f.ndim != 1 or f.size not in layouts:
                raise ClipError("skeleton.pose_keypoints_2d", f"{where} frame {i}: {f.size} numbers; OpenPose "
                                f"writes {' or '.join(map(str, layouts))} (18 or 25 keypoints of x, y, c)")
        frames.append(max(flat, key=lambda f: float(f[2::3].sum())).reshape(-1, 3) if flat else None)
    sizes = {f.shape[0] for f in frames if f is not None}
    if not sizes:
        raise ClipError("skeleton.json", f"{where}: no person in any frame")
    if len(sizes) > 1:
        raise ClipError("skeleton.pose_keypoints_2d", f"{where}: frames mix 18- and 25-keypoint models")
    joints = sizes.pop()
    data = np.stack([np.full((joints, 3), np.nan) if f is None else f for f in frames])
    data[(data[:, :, 2] <= 0) & (data[:, :, 0] == 0) & (data[:, :, 1] == 0)] = np.nan
    data[np.isnan(data[:, :, 2]), 2] = 0.0
    return skeleton_from_array(data, layouts[3 * joints], fps, has_confidence=True)


def coco_keypoints(doc: Any, fps: float) -> LabelledSkeleton:
    """COCO-17 keypoints from a results list or a dataset's annotations, one image per frame.

    A result's third number is the detector's score; an annotation's is the visibility flag (0 not
    labelled, 1 labelled but hidden, 2 visible), so a labelled point gets confidence 1 and an unlabelled
    one is missing. Per image the best-scored detection (or the one with most labelled points) is kept.
    """
    annotated = isinstance(doc, Mapping)
    items = doc.get("annotations") if annotated else doc
    if not isinstance(items, list) or not all(isinstance(a, Mapping) for a in items):
        raise ClipError("skeleton.json", "COCO keypoints: expected a list of objects with image_id and keypoints")
    best: dict[Any, tuple[float, np.ndarray]] = {}
    for n, item in enumerate(items):
        if "image_id" not in item or "keypoints" not in item:
            raise ClipError(f"skeleton.json[{n}]", "a COCO keypoint entry needs image_id and keypoints")
        points = as_float_array(item["keypoints"], f"skeleton.json[{n}].keypoints")
        if points.shape != (51,):
            raise ClipError(f"skeleton.json[{n}].keypoints", f"expected 51 numbers (17 x, y, v), got {points.size}")
        points = points.reshape(17, 3).copy()
        if annotated:
            points[points[:, 2] <= 0] = np.nan
            points[:, 2] = np.where(np.isnan(points[:, 2]), 0.0, 1.0)
            rank = float((points[:, 2] > 0).sum())
        else:
            rank = float(item.get("score", points[:, 2].mean()))
        key = item["image_id"]
        if key not in best or rank > best[key][0]:
            best[key] = (rank, points)
    if not best:
        raise ClipError("skeleton.json", "COCO keypoints: no entry")
    order = sorted(best, key=lambda k: (isinstance(k, str), k))
    return skeleton_from_array(np.stack([best[k][1] for k in order]), "COCO-17", fps, has_confidence=True)


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
    return EMG(samples=data, sampling_rate=sampling_rate, channels=tuple(header))


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
    return EMG(samples=_load_npy(path, "emg.npy"), sampling_rate=sampling_rate,
               channels=None if channels is None else tuple(channels))


def _unwrap(value: object) -> object:
    """MATLAB cells arrive as object arrays of size 1: take what is inside."""
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.item()
    return value


def _mat_names(value: object) -> tuple[str, ...] | None:
    value = _unwrap(value)
    if not isinstance(value, np.ndarray):
        return None
    return tuple(_mat_text(item) for item in value.ravel())


def _mat_text(value: object) -> str:
    """A name cell's text: its first element (a cell arrives wrapped, as a 1x1 char array), or "" when empty."""
    array = np.asarray(_unwrap(value))
    return str(array.ravel()[0]).strip() if array.size else ""


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
    import scipy.io
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
        rate = np.asarray(variables[rate_key])
        sampling_rate = positive_number(rate.ravel()[0] if rate.size else None, "emg.sampling_rate")
    names = None
    for name_key in (lowered[k] for k in NAME_KEYS if k in lowered):
        found = _mat_names(variables[name_key])
        if found and data.ndim == 2 and len(found) == data.shape[1] and len(set(found)) == len(found):
            names = found
            break
    emg = EMG(samples=data, sampling_rate=sampling_rate, channels=names)
    return emg if channels is None else emg.select(list(channels))
