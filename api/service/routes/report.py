"""The report page over HTTP: ``GET /`` (upload a bundle or open the bundled example), ``GET /report/example``,
and ``POST /assess`` answered as one HTML page when the client asks for HTML.

``POST /assess`` is shared with :mod:`api.service.routes.assess`: the route here matches only a request
with ``?format=html`` or an ``Accept`` that names ``text/html`` (what a browser's form sends), so every
other client gets the JSON ``Assessment`` from the route there. The router must be included first.
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from flexaqa.api import core
from flexaqa.api.assessor import Assessor
from flexaqa.api.report import render_page, render_problem, render_upload
from flexaqa.api.service.clip_input import read_clip
from flexaqa.api.service.deps import (
    AssessorDep,
    GraphDep,
    LangDep,
    LimiterDep,
    MinConfidenceQuery,
    SettingsDep,
    get_lang,
)
from flexaqa.api.service.errors import ServiceError
from flexaqa.api.service.schemas import Problem
from flexaqa.clips.clip import Clip
from flexaqa.clips.errors import ClipError
from flexaqa.kg import KnowledgeGraph

RULES_URL = "/rules/"
HTML_FORM_URL = "/assess?format=html"


def wants_html(scope: Scope) -> bool:
    """``?format=html``, or an ``Accept`` header that lists ``text/html``."""
    query = scope.get("query_string", b"").decode("latin-1")
    if "format=html" in query.split("&"):
        return True
    accept = dict(scope.get("headers", ())).get(b"accept", b"").decode("latin-1").lower()
    return "text/html" in accept


class HtmlRoute(APIRoute):
    """A route that only claims requests asking for HTML; the others fall through to the next route."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        return (match, child) if match is not Match.NONE and wants_html(scope) else (Match.NONE, {})


router = APIRouter(tags=["report"])


@router.get("/", response_class=HTMLResponse, summary="The start page: upload a clip bundle or open the example")
def start(kg: GraphDep) -> HTMLResponse:
    """A form that posts a clip bundle to ``/assess?format=html``, with the actions of the graph in force."""
    actions = {a: kg.action(a).label.get("en", a) for a in sorted(kg.actions)}
    return HTMLResponse(render_upload(actions, HTML_FORM_URL, "/report/example"))


@router.get("/report/example", response_class=HTMLResponse, summary="The report page of the bundled example",
            responses={422: {"model": Problem, "description": "A language the graph has no coaching text in"},
                       503: {"model": Problem, "description": "Every worker busy and the queue full; see Retry-After"}})
async def example(kg: GraphDep, lang: LangDep, limiter: LimiterDep, assessor: AssessorDep) -> HTMLResponse:
    """The bundled example set assessed and drawn as the report page, opening in ``?lang``."""
    async with limiter.slot():
        page = await anyio.to_thread.run_sync(
            lambda: _page(assessor, kg, *assessor.open(core.EXAMPLE_CLIP, kg=kg), lang))
    return HTMLResponse(page)


async def assess_html(request: Request, kg: GraphDep, limiter: LimiterDep, settings: SettingsDep,
                      assessor: AssessorDep, min_confidence: MinConfidenceQuery = None,
                      lang: Annotated[str, Query()] = "en") -> HTMLResponse:
    """``POST /assess`` for a browser: the same input (JSON or a ``bundle`` upload), the report page out.
    A refused request (the clip, or ``?lang``, checked here rather than as a dependency so that its refusal
    is a page too) is a page saying why, with the status the JSON route gives."""
    try:
        lang = get_lang(kg, lang)
        async with limiter.admit() as worker, read_clip(request, settings) as decode, worker:
            page = await anyio.to_thread.run_sync(
                lambda: _page(assessor, kg, *decode(kg), lang, min_confidence))
    except ServiceError as exc:
        return HTMLResponse(render_problem(exc.status, exc.detail, exc.field), exc.status, exc.headers)
    return HTMLResponse(page)


router.add_api_route("/assess", assess_html, methods=["POST"], response_class=HTMLResponse, include_in_schema=False,
                     route_class_override=HtmlRoute)


def _page(assessor: Assessor, kg: KnowledgeGraph, clip: Clip, assumed_fps: float | None, lang: str,
          min_confidence: float | None = None) -> str:
    try:
        seen = assessor.examine(clip, assumed_fps, kg=kg, min_confidence=min_confidence)
        return render_page(assessor.report(seen, lang, rule_base=RULES_URL))
    except ClipError as exc:
        raise ServiceError(422, exc.problem, exc.field) from None
