"""``POST /assess``: score a clip sent as JSON or as an uploaded clip bundle.

A request is admitted (or refused with a 503) before its body is received. Decoding, validation and
scoring are CPU work: they run in a worker thread, inside one of a bounded number of slots (see
:mod:`api.service.limits`), so the event loop keeps answering meanwhile.
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request, Response

from flexaqa.api.service.clip_input import read_clip
from flexaqa.api.service.deps import AssessorDep, GraphDep, LangDep, LimiterDep, MinConfidenceQuery, SettingsDep
from flexaqa.api.service.schemas import Assessment, Problem

router = APIRouter(tags=["assess"])

REF = "#/components/schemas/{model}"

REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": REF.format(model="AssessRequest")}},
        "multipart/form-data": {"schema": {"$ref": REF.format(model="AssessUpload")}},
    },
}


@router.post(
    "/assess",
    summary="Score a clip and say what to fix",
    response_model=Assessment,
    openapi_extra={"requestBody": REQUEST_BODY},
    responses={400: {"model": Problem, "description": "A multipart body that cannot be parsed"},
               413: {"model": Problem, "description": "Body too large, or a clip longer or larger when "
                                                      "unpacked than the limits (the field is named)"},
               415: {"model": Problem, "description": "Neither JSON nor multipart/form-data"},
               422: {"model": Problem, "description": "A field of the clip is unusable (the field is named)"},
               503: {"model": Problem, "description": "Every worker busy and the queue full; see Retry-After"}},
)
async def assess(
    request: Request, kg: GraphDep, lang: LangDep, limiter: LimiterDep, settings: SettingsDep,
    assessor: AssessorDep, min_confidence: MinConfidenceQuery = None,
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
    async with limiter.admit() as worker, read_clip(request, settings) as decode:

        def job() -> Assessment:  # a ClipError from the assessment is answered 422 by the app's handler
            return assessor.assess(assessor.examine(*decode(kg), kg=kg, min_confidence=min_confidence), lang, explain)

        async with worker:
            report = await anyio.to_thread.run_sync(job)
    return Response(report.model_dump_json(), media_type="application/json")
