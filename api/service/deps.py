"""FastAPI dependencies: what a route needs from the running service, injected rather than imported.

The graph is read per request from the :class:`kg.LiveGraph`, so a rule edit put in force between two
requests is seen by the second one and never half-way through the first.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from flexaqa.api import core
from flexaqa.api.assessor import Assessor
from flexaqa.api.service.config import Settings
from flexaqa.api.service.errors import ServiceError
from flexaqa.api.service.limits import WorkLimiter
from flexaqa.kg import KnowledgeGraph, LiveGraph, UnknownIdError
from flexaqa.kg.sparql import QueryService


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_live_graph(request: Request) -> LiveGraph:
    return request.app.state.live


def get_graph(live: Annotated[LiveGraph, Depends(get_live_graph)]) -> KnowledgeGraph:
    """The graph in force now; a request keeps the one it started with."""
    return live.current


def get_query_service(request: Request) -> QueryService:
    return request.app.state.queries


def get_limiter(request: Request) -> WorkLimiter:
    return request.app.state.limiter


def get_assessor(request: Request) -> Assessor:
    """The service's one assessor (graph in force, the model as configured)."""
    return request.app.state.assessor


def get_lang(kg: Annotated[KnowledgeGraph, Depends(get_graph)],
             lang: Annotated[str, Query(description="language of labels and coaching (en, zh)")] = "en") -> str:
    """``?lang=``, checked against the languages the graph has coaching text in (422 otherwise)."""
    try:
        return core.check_language(kg, lang)
    except UnknownIdError as exc:
        raise ServiceError(422, str(exc), "query.lang") from None


SettingsDep = Annotated[Settings, Depends(get_settings)]
LiveDep = Annotated[LiveGraph, Depends(get_live_graph)]
GraphDep = Annotated[KnowledgeGraph, Depends(get_graph)]
QueriesDep = Annotated[QueryService, Depends(get_query_service)]
LimiterDep = Annotated[WorkLimiter, Depends(get_limiter)]
LangDep = Annotated[str, Depends(get_lang)]
AssessorDep = Annotated[Assessor, Depends(get_assessor)]
MinConfidenceQuery = Annotated[float | None, Query(
    ge=0, le=1, description="keypoints scored below this count as missing (default: the skeleton layout's own, "
    "from its pose detector), as `flexaqa assess --min-confidence`")]
