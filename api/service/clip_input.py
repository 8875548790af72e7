"""The clip of a ``POST /assess`` request, JSON arrays or an uploaded bundle: read once for every route
that answers it (the JSON ``Assessment`` and the HTML report page), so both refuse bad input alike."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from flexaqa.api import core
from flexaqa.api.service.config import ENV_PREFIX, Settings
from flexaqa.api.service.errors import ServiceError
from flexaqa.api.service.media import media_type
from flexaqa.api.service.schemas import AssessRequest
from flexaqa.clips.clip import Clip
from flexaqa.clips.errors import ClipError, ClipTooLarge
from flexaqa.clips.files import BundleLimits
from flexaqa.kg import KnowledgeGraph, UnknownIdError

JSON, MULTIPART = "application/json", "multipart/form-data"
Decoder = Callable[[KnowledgeGraph], tuple[Clip, float | None]]
"""CPU work that turns the request's bytes into a clip and the frame rate assumed for it (run it off the loop)."""


@asynccontextmanager
async def read_clip(request: Request, settings: Settings) -> AsyncIterator[Decoder]:
    """Receive the body (JSON, or multipart with a ``bundle`` file and an optional ``action`` field) and
    yield the decoding still to do; a wrong content type or form is refused here, before any CPU work, and
    a modality longer than ``settings.max_clip_s`` (413). An upload goes to a temporary file, never whole
    into memory, which is removed on leaving."""
    if media_type(request, JSON, MULTIPART) == JSON:
        body = await request.body()
        yield _checked(lambda kg: (_from_json(kg, body), None), settings.max_clip_s)
    else:
        limits = BundleLimits(max_bytes=settings.max_bundle_bytes, max_seconds=settings.max_clip_s)
        with tempfile.TemporaryDirectory(prefix="flexaqa-upload-") as folder:
            path = os.path.join(folder, "bundle.npz")
            action = await _receive_bundle(request, path)
            yield _checked(lambda kg: _from_bundle(kg, path, action, limits), settings.max_clip_s)


def _checked(decode: Decoder, max_seconds: float) -> Decoder:
    def checked(kg: KnowledgeGraph) -> tuple[Clip, float | None]:
        clip, assumed_fps = decode(kg)
        _check_length(clip, max_seconds)
        return clip, assumed_fps

    return checked


def _check_length(clip: Clip, max_seconds: float) -> None:
    lengths = {}
    if clip.skeleton is not None:
        lengths["skeleton.positions"] = clip.skeleton.frames / clip.skeleton.fps
    if clip.emg is not None:
        lengths["emg.samples"] = clip.emg.duration
    for field, seconds in lengths.items():
        if seconds > max_seconds:
            raise ServiceError(413, f"{seconds:.0f} s of recording; one request carries at most {max_seconds:g} s "
                               "(FLEXAQA_MAX_CLIP_S)", field)


async def _receive_bundle(request: Request, path: str) -> str | None:
    """Parse the form, copy its ``bundle`` file to ``path`` (in chunks) and return its ``action`` field."""
    form = await request.form(max_files=1, max_fields=4)
    try:
        upload, action = form.get("bundle"), form.get("action")
        if not isinstance(upload, UploadFile):
            raise ServiceError(422, "missing: upload the clip bundle as a file field named 'bundle'", "bundle")
        if action is not None and not isinstance(action, str):
            raise ServiceError(422, "must be a text field, not a file", "action")
        with open(path, "wb") as handle:
            await anyio.to_thread.run_sync(shutil.copyfileobj, upload.file, handle)
        return action or None
    finally:
        await form.close()


def _from_json(kg: KnowledgeGraph, body: bytes) -> Clip:
    try:
        parsed = AssessRequest.model_validate_json(body)
        kg.action(parsed.action)
        return parsed.to_clip()
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ServiceError(422, first["msg"], ".".join(str(p) for p in first["loc"]) or "body") from None
    except UnknownIdError as exc:  # a bad field of this request (422), not a missing resource
        raise ServiceError(422, str(exc), "action") from None
    except ClipError as exc:
        raise ServiceError(422, exc.problem, exc.field) from None


LIMIT_SETTINGS = {"max_bytes": "max_bundle_mb", "max_seconds": "max_clip_s"}
"""The setting behind each field of :class:`clips.files.BundleLimits`, named in a 413."""


def _from_bundle(kg: KnowledgeGraph, path: str, action: str | None, limits: BundleLimits) -> tuple[Clip, float | None]:
    try:
        return core.open_clip(kg, path, action=action, bundle_limits=limits)
    except UnknownIdError as exc:
        raise ServiceError(422, str(exc), "action") from None
    except ClipError as exc:  # the temporary file's name means nothing to the client
        field = "bundle" if exc.field == "clip.file" else exc.field
        detail = exc.problem.replace(path, "the uploaded bundle")
        if isinstance(exc, ClipTooLarge):
            raise ServiceError(413, f"{detail} ({ENV_PREFIX}{LIMIT_SETTINGS[exc.limit].upper()})", field) from None
        raise ServiceError(422, detail, field) from None
