"""``POST /assess``: score a clip sent as JSON or as an uploaded clip bundle.

Decoding, validation and scoring are CPU work: they run in a worker thread, inside one of a bounded
number of slots (see :mod:`api.service.limits`), so the event loop keeps answering meanwhile.
"""

from __future__ import annotations

import os
import tempfile
from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from api import core
from api.service.deps import GraphDep, LangDep, LimiterDep
from api.service.errors import ServiceError
from api.service.schemas import Assessment, AssessRequest, Problem
from clips.errors import ClipError
from kg import KnowledgeGraph, UnknownIdError

router = APIRouter(tags=["assess"])

JSON_TYPES = ("application/json",)
FORM_TYPES = ("multipart/form-data",)
REF = "#/components/schemas/{model}"

REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": REF.format(model="AssessRequest")}},
        "multipart/form-data": {"schema": {"$ref": REF.format(model="AssessUpload")}},
    },
}


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _from_json(kg: KnowledgeGraph, body: bytes, lang: str, explain: bool) -> Assessment:
    try:
        parsed = AssessRequest.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise ServiceError(422, first["msg"], field) from None
    _check_action(kg, parsed.action)
    return core.assess_clip(kg, parsed.to_clip(), lang=lang, explain=explain)


def _from_bundle(kg: KnowledgeGraph, data: bytes, action: str | None, lang: str, explain: bool) -> Assessment:
    fd, path = tempfile.mkstemp(suffix=".npz", prefix="flexaqa-upload-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        clip, assumed_fps = core.open_clip(kg, path, action=action)
        return core.assess_clip(kg, clip, lang=lang, explain=explain, assumed_fps=assumed_fps)
    except UnknownIdError as exc:
        raise ServiceError(422, str(exc), "action") from None
    except ClipError as exc:  # the temporary file's name means nothing to the client
        field = "bundle" if exc.field == "clip.file" else exc.field
        raise ServiceError(422, exc.problem.replace(path, "the uploaded bundle"), field) from None
    finally:
        os.unlink(path)


def _check_action(kg: KnowledgeGraph, action: str) -> None:
    """An unknown action is a bad field of this request (422), not a missing resource."""
    try:
        kg.action(action)
    except UnknownIdError as exc:
        raise ServiceError(422, str(exc), "action") from None


@router.post(
    "/assess",
    summary="Score a clip and say what to fix",
    response_model=Assessment,
    openapi_extra={"requestBody": REQUEST_BODY},
    responses={413: {"model": Problem, "description": "Body too large"},
               415: {"model": Problem, "description": "Neither JSON nor multipart/form-data"},
               422: {"model": Problem, "description": "A field of the clip is unusable (the field is named)"},
               503: {"model": Problem, "description": "Every worker busy and the queue full; see Retry-After"}},
)
async def assess(
    request: Request, kg: GraphDep, lang: LangDep, limiter: LimiterDep,
    explain: Annotated[bool, Query(description="add why each fault matters and how to fix it")] = False,
) -> Response:
    """Assess every repetition of one clip against the Turtle rules of its action.

    Send either **JSON** (`AssessRequest`: an action id, a skeleton on the 21 internal joints and/or
    sEMG) or **multipart/form-data** with a file field `bundle` (an `.npz` clip bundle, as
    `clips.files.save_bundle` writes and `flexaqa assess` reads) and an optional `action` field.
    The answer is the same `Assessment` that `flexaqa assess --format json` prints: the score
    `S = (1 - W_obs / W_max) * 100` with its interval, every error traced to its rule's Turtle file and
    line, and coaching cues heaviest first in `?lang`.
    """
    media_type = _media_type(request)
    if media_type in JSON_TYPES:
        body = await request.body()
        job = lambda: _from_json(kg, body, lang, explain)  # noqa: E731
    elif media_type in FORM_TYPES:
        form = await request.form(max_files=1, max_fields=4)
        upload, action = form.get("bundle"), form.get("action")
        if not isinstance(upload, UploadFile):
            raise ServiceError(422, "missing: upload the clip bundle as a file field named 'bundle'", "bundle")
        if action is not None and not isinstance(action, str):
            raise ServiceError(422, "must be a text field, not a file", "action")
        data = await upload.read()
        await form.close()
        job = lambda: _from_bundle(kg, data, action or None, lang, explain)  # noqa: E731
    else:
        raise ServiceError(415, f"send application/json or multipart/form-data, not {media_type or 'no content type'}",
                           "content-type")
    async with limiter.slot():
        report = await anyio.to_thread.run_sync(job)
    return Response(report.model_dump_json(), media_type="application/json")
