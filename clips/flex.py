"""The FLEX release layout: read it (also when partly downloaded) and write it (synthetic data, tests).

Layout under ``root``::

    A%02d/%03d/View-N/img_%05d.JPG          video frames per view (N from 1)
    Skeleton/A%02d/%03d/skeleton_points.csv  header row, then T rows x 63 (21 joints x, y, z)
    EMG/A%02d/%03d/EMG.csv                   header row of channel names, then one row per sample
    Split_4/split_4_{train,test}_list.mat    rows [action, idx, score]

FLEX does not state its rates, so these are assumptions, kept as parameters: EMG at 2000 Hz, skeleton
and frames at 30 fps (103 skeleton frames = 3.4 s, one repetition). Joints are read in
``clips.layouts.JOINTS`` order (the project's reading of FLEX's 21 joints).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from flexaqa.clips.cache import Packed, ParsedCache
from flexaqa.clips.clip import Clip
from flexaqa.clips.emg import EMG
from flexaqa.clips.errors import ClipError
from flexaqa.clips.layouts import JOINTS
from flexaqa.clips.readers import read_emg_csv
from flexaqa.clips.skeleton import Skeleton
from flexaqa.clips.video import Video, read_frame_folder, write_frame_folder

logger = logging.getLogger(__name__)
T = TypeVar("T")

EMG_RATE_HZ = 2000.0
FPS = 30.0
SPLITS = ("train", "test")


class FlexSample(BaseModel):
    """One FLEX sample with its expert score, raw and normalised to [0, 1] by its action's (min, max)."""

    model_config = ConfigDict(frozen=True)

    action: str
    index: int
    clip: Clip
    score: float
    normalised_score: float


def action_id(number: int) -> str:
    """16 -> "A16"."""
    return f"A{int(number):02d}"


def action_number(action: str) -> int:
    """ "A16" -> 16; FLEX folders need ids of this form."""
    match = re.fullmatch(r"A(\d{1,2})", action)
    if not match:
        raise ClipError("clip.action", f"FLEX needs action ids like A16, got {action!r}")
    return int(match.group(1))


def _sample_dir(action: str, index: int) -> Path:
    return Path(f"A{action_number(action):02d}") / f"{int(index):03d}"


def skeleton_path(root: Path, action: str, index: int) -> Path:
    return root / "Skeleton" / _sample_dir(action, index) / "skeleton_points.csv"


def emg_path(root: Path, action: str, index: int) -> Path:
    return root / "EMG" / _sample_dir(action, index) / "EMG.csv"


def split_path(root: Path, split: str) -> Path:
    if split not in SPLITS:
        raise ClipError("split", f"unknown split {split!r}; splits: {', '.join(SPLITS)}")
    return root / "Split_4" / f"split_4_{split}_list.mat"


def read_skeleton_points(path: Path, fps: float = FPS) -> Skeleton:
    """Read a ``skeleton_points.csv``: one header row, then rows of 21 x (x, y, z) in JOINTS order."""
    try:
        data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    except (OSError, ValueError) as exc:
        raise ClipError("skeleton.csv", f"cannot read {path}: {exc}") from None
    if data.shape[1] != 3 * len(JOINTS):
        raise ClipError("skeleton.csv", f"expected {3 * len(JOINTS)} columns in {path}, got {data.shape[1]}")
    return Skeleton(positions=data.reshape(-1, len(JOINTS), 3), fps=fps, layout="FLEX-21")


def read_split(path: Path) -> np.ndarray:
    """(R, 3) rows [action, idx, score] from a split .mat (the one 3-column numeric variable)."""
    import scipy.io
    try:
        mat = scipy.io.loadmat(str(path))
    except Exception as exc:  # loadmat raises many kinds on a corrupt file
        raise ClipError("split", f"cannot read {path}: {exc}") from None
    tables = [
        v for k, v in mat.items()
        if not k.startswith("__") and isinstance(v, np.ndarray) and v.ndim == 2 and v.shape[1] == 3
        and v.dtype.kind in "fiu"
    ]  # fmt: skip
    if len(tables) != 1:
        raise ClipError("split", f"expected one (rows, 3) numeric variable in {path}, found {len(tables)}")
    return tables[0].astype(np.float64)


class FlexDataset:
    """A FLEX-layout folder. Missing views or modalities leave that field empty (logged once per kind).

    With ``cache_dir``, each parsed skeleton and sEMG table is kept there as binary arrays, so later
    epochs skip the text parsing (see ``clips.cache``).
    """

    def __init__(
        self,
        root: str | Path,
        fps: float = FPS,
        emg_rate: float = EMG_RATE_HZ,
        load_video: bool = True,
        video_size: tuple[int, int] | None = None,
        max_frames: int | None = None,
        score_ranges: Mapping[str, tuple[float, float]] | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise ClipError("root", f"no such folder: {self.root}")
        self._cache = ParsedCache(cache_dir, self.root) if cache_dir is not None else None
        self.fps, self.emg_rate = fps, emg_rate
        self.load_video, self.video_size, self.max_frames = load_video, video_size, max_frames
        self._ranges = dict(score_ranges) if score_ranges is not None else None
        self._reported: set[str] = set()

    def split(self, split: str) -> np.ndarray:
        """Rows [action, idx, score] of a split."""
        path = split_path(self.root, split)
        if not path.is_file():
            raise ClipError("split", f"no split file {path}")
        return read_split(path)

    def score_ranges(self) -> dict[str, tuple[float, float]]:
        """Per-action (min, max) score: as given, or over every split present."""
        if self._ranges is None:
            rows = [self.split(s) for s in SPLITS if split_path(self.root, s).is_file()]
            table = np.concatenate(rows) if rows else np.zeros((0, 3))
            self._ranges = {
                action_id(a): (
                    float(table[table[:, 0] == a, 2].min()),
                    float(table[table[:, 0] == a, 2].max()),
                )
                for a in np.unique(table[:, 0])
            }
        return self._ranges

    def normalise_score(self, action: str, score: float) -> float:
        """(score - min) / (max - min) of the action; 0.5 when the action's scores do not spread."""
        ranges = self.score_ranges()
        if action not in ranges:
            raise ClipError("score", f"no score range for action {action}")
        low, high = ranges[action]
        return 0.5 if high <= low else (score - low) / (high - low)

    def _missing(self, kind: str, where: Path) -> None:
        if kind not in self._reported:
            self._reported.add(kind)
            logger.warning(
                "FLEX %s: %s missing (first at %s); such fields are left empty", self.root, kind, where
            )

    def _read(self, path: Path, parse: Callable[[Path], T], pack: Callable[[T], Packed],
              unpack: Callable[[np.ndarray, dict[str, Any]], T]) -> T:
        """``parse(path)``, through the parse cache when there is one."""
        return parse(path) if self._cache is None else self._cache.fetch(path, parse, pack, unpack)

    def _skeleton(self, path: Path) -> Skeleton:
        return self._read(
            path, lambda p: read_skeleton_points(p, self.fps), lambda s: (s.positions, {}),
            lambda positions, _: Skeleton(positions=positions, fps=self.fps, layout="FLEX-21"))

    def _emg(self, path: Path) -> EMG:
        return self._read(
            path, lambda p: read_emg_csv(p, self.emg_rate),
            lambda e: (e.samples, {"channels": list(e.channels) if e.channels else None}),
            lambda samples, meta: EMG(samples=samples, sampling_rate=self.emg_rate, channels=meta.get("channels")))

    def load(self, action: str, index: int) -> Clip | None:
        """The clip of one sample, or None (logged) when none of its modalities is present."""
        skel_file = skeleton_path(self.root, action, index)
        skeleton = self._skeleton(skel_file) if skel_file.is_file() else None
        if skeleton is None:
            self._missing("skeleton", skel_file)
        emg_file = emg_path(self.root, action, index)
        emg = self._emg(emg_file) if emg_file.is_file() else None
        if emg is None:
            self._missing("EMG", emg_file)
        views: list[Video] = []
        if self.load_video:
            sample_dir = self.root / _sample_dir(action, index)
            folders = sorted(
                sample_dir.glob("View-*"), key=lambda p: int(p.name[5:]) if p.name[5:].isdigit() else 0
            )
            with_frames = [f for f in folders if any(f.glob("img_*.JPG"))]
            views = [read_frame_folder(f, self.fps, self.max_frames, self.video_size) for f in with_frames]
            if len(with_frames) < len(folders) or not views:
                self._missing("video views", sample_dir)
        if skeleton is None and emg is None and not views:
            logger.warning("FLEX sample %s/%03d has no modality on disk; skipped", action, index)
            return None
        return Clip(action=action, skeleton=skeleton, emg=emg, views=tuple(views))

    def samples(self, split: str = "train") -> Iterator[FlexSample]:
        """The split's samples in file order, each with its clip and scores; absent samples are skipped."""
        for number, index, score in self.split(split):
            action = action_id(int(number))
            clip = self.load(action, int(index))
            if clip is not None:
                yield FlexSample(
                    action=action,
                    index=int(index),
                    clip=clip,
                    score=float(score),
                    normalised_score=self.normalise_score(action, float(score)),
                )


def write_sample(
    root: str | Path, index: int, clip: Clip, emg_rate: float = EMG_RATE_HZ, quality: int = 3
) -> None:
    """Write one clip in the FLEX layout (3D skeleton, EMG at ``emg_rate``, views as JPEG folders)."""
    root = Path(root)
    if clip.skeleton is not None:
        if not clip.skeleton.is_3d:
            raise ClipError("skeleton.positions", "FLEX stores 3D skeletons; this one is 2D")
        path = skeleton_path(root, clip.action, index)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = ",".join(f"{joint}_{axis}" for joint in JOINTS for axis in "xyz")
        np.savetxt(path, clip.skeleton.positions.reshape(clip.skeleton.frames, -1), delimiter=",",
                   header=header, comments="", fmt="%.17g")  # fmt: skip
    if clip.emg is not None:
        if clip.emg.sampling_rate != emg_rate:
            raise ClipError(
                "emg.sampling_rate", f"FLEX EMG is stored at {emg_rate:g} Hz, got {clip.emg.sampling_rate:g}"
            )
        path = emg_path(root, clip.action, index)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = ",".join(clip.emg.channel_names)
        np.savetxt(path, clip.emg.samples, delimiter=",", header=header, comments="", fmt="%.17g")
    for number, view in enumerate(clip.views, start=1):
        write_frame_folder(root / _sample_dir(clip.action, index) / f"View-{number}", view, quality)


def write_split(root: str | Path, split: str, rows: Sequence[tuple[int, int, float]]) -> None:
    """Write a split list: rows (action number, idx, score)."""
    import scipy.io
    path = split_path(Path(root), split)
    table = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(str(path), {f"split_4_{split}_list": table})
