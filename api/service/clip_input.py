"""The clip of a ``POST /assess`` request, JSON arrays or an uploaded bundle: read once for every route
that answers it (the JSON ``Assessment`` and the HTML report page), so both refuse bad input alike."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from api import core
from api.service.errors import ServiceError
from api.service.schemas import AssessRequest
from clips.clip import Clip
from clips.errors import ClipError
from kg import KnowledgeGraph, UnknownIdError

Decoder = Callable[[KnowledgeGraph], tuple[Clip, float | None]]
"""CPU work that turns the request's bytes into a clip and the frame rate assumed for it (run it off the loop)."""


async def read_clip(request: Request, max_seconds: float) -> Decoder:
    """Receive the body (JSON, or multipart with a ``bundle`` file and an optional ``action`` field) and
    return the decoding still to do; a wrong content type or form is refused here, before any CPU work,
    and a modality longer than ``max_seconds`` when decoded (413)."""
    decode = await _decoder(request)

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


async def _decoder(request: Request) -> Decoder:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json":
        body = await request.body()
        return lambda kg: (_from_json(kg, body), None)
    if media_type == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=4)
        upload, action = form.get("bundle"), form.get("action")
        if not isinstance(upload, UploadFile):
            raise ServiceError(422, "missing: upload the clip bundle as a file field named 'bundle'", "bundle")
        if action is not None and not isinstance(action, str):
            raise ServiceError(422, "must be a text field, not a file", "action")
        data = await upload.read()
        await form.close()
        return lambda kg: _from_bundle(kg, data, action or None)
    raise ServiceError(415, f"send application/json or multipart/form-data, not {media_type or 'no content type'}",
                       "content-type")


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


def _from_bundle(kg: KnowledgeGraph, data: bytes, action: str | None) -> tuple[Clip, float | None]:
    fd, path = tempfile.mkstemp(suffix=".npz", prefix="flexaqa-upload-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return core.open_clip(kg, path, action=action)
    except UnknownIdError as exc:
        raise ServiceError(422, str(exc), "action") from None
    except ClipError as exc:  # the temporary file's name means nothing to the client
        field = "bundle" if exc.field == "clip.file" else exc.field
        raise ServiceError(422, exc.problem.replace(path, "the uploaded bundle"), field) from None
    finally:
        os.unlink(path)
