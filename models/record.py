"""What a checkpoint says about itself, readable without torch: the graph and the inputs it was trained on.

:func:`models.checkpoint.save` writes these fields twice: in the torch payload, and as a small JSON entry
(:data:`ENTRY`) in the same zip archive, which ``torch.load`` ignores. The product reads the JSON to tell
whether a checkpoint can speak for a clip at all (:func:`declines`) before it pays for importing torch: a
checkpoint trained on 3D skeletons has nothing to say of a phone's 2D keypoints. ``unzip -p CKPT '*/record.json'``
shows it too.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from clips.clip import Clip

ENTRY = "record.json"
FIELDS = ("kg_version", "graph_digest", "modalities", "skeletons")


def write(path: str | Path, record: dict) -> None:
    """Add the :data:`FIELDS` of ``record`` to the checkpoint archive at ``path`` (as written by ``torch.save``)."""
    with zipfile.ZipFile(path, "a") as archive:
        folder = archive.namelist()[0].split("/", 1)[0]  # torch.save puts every entry under one folder
        archive.writestr(f"{folder}/{ENTRY}", json.dumps({k: record[k] for k in FIELDS if k in record}))


def read(path: str | Path) -> dict | None:
    """The JSON record of the checkpoint at ``path``; None when it has none (an older checkpoint, a file that
    is not one): the caller then loads the checkpoint, which says what is wrong."""
    try:
        with zipfile.ZipFile(path) as archive:
            name = next((n for n in archive.namelist() if n.endswith(f"/{ENTRY}")), None)
            return None if name is None else json.loads(archive.read(name))
    except (OSError, zipfile.BadZipFile, json.JSONDecodeError):
        return None


def declines(record: dict, clip: Clip) -> str | None:
    """Why a checkpoint with ``record`` does not speak for ``clip``, or None when it does: a 2D skeleton (no
    depth, the lifter facing either way) lies outside what a model trained on 3D skeletons only learned."""
    if clip.skeleton is not None and not clip.skeleton.is_3d and "2D" not in record.get("skeletons", ("3D",)):
        return ("it was trained on 3D skeletons only: a 2D view (no depth, either facing) is outside what it "
                "learned, so it does not speak for this clip")
    return None
