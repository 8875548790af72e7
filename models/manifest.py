"""A checkpoint's manifest: what it was trained on (graph, modalities, skeletons), readable without torch.

:func:`models.checkpoint.save` writes these fields twice: in the torch payload, and as a small JSON entry
(:data:`ENTRY`) in the same zip archive, which ``torch.load`` ignores. The product reads the JSON to tell
whether a checkpoint can speak for a clip at all (:func:`declines`) before it pays for importing torch: a
checkpoint trained on 3D skeletons has nothing to say of a phone's 2D keypoints. ``unzip -p CKPT
'*/manifest.json'`` shows it too.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from flexaqa.clips.clip import Clip

ENTRY = "manifest.json"
FIELDS = ("kg_version", "graph_digest", "modalities", "skeletons")


def write(path: str | Path, record: dict) -> None:
    """Add the :data:`FIELDS` of a checkpoint's ``record`` to its archive at ``path`` (as ``torch.save`` wrote it)."""
    with zipfile.ZipFile(path, "a") as archive:
        folder = archive.namelist()[0].split("/", 1)[0]  # torch.save puts every entry under one folder
        archive.writestr(f"{folder}/{ENTRY}", json.dumps({k: record[k] for k in FIELDS if k in record}))


def read(path: str | Path) -> dict | None:
    """The manifest of the checkpoint at ``path``; None when it has none (an older checkpoint, a missing file,
    one that is not a checkpoint): the caller then loads the checkpoint, which says what is wrong."""
    try:
        with zipfile.ZipFile(path) as archive:
            name = next((n for n in archive.namelist() if n.endswith(f"/{ENTRY}")), None)
            found = None if name is None else json.loads(archive.read(name))
    except (OSError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return found if isinstance(found, dict) else None


def speaks_2d(record: dict) -> bool:
    """Whether a checkpoint was trained on 2D skeletons too (older checkpoints: 3D only)."""
    return "2D" in record.get("skeletons", ("3D",))


def declines(record: dict, clip: Clip) -> str | None:
    """Why a checkpoint with ``record`` (its manifest or full record) does not speak for ``clip``, or None when it
    does: a 2D skeleton (no depth, the lifter facing either way) lies outside what a model trained on 3D
    skeletons only learned."""
    if clip.skeleton is not None and not clip.skeleton.is_3d and not speaks_2d(record):
        return ("it was trained on 3D skeletons only: a 2D view (no depth, either facing) is outside what it "
                "learned, so it does not speak for this clip")
    return None
