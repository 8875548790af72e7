"""Every failure as a 4xx/503 with a :class:`Problem` body naming the field: never a traceback.

The domain errors come from the shared layers (clips, kg); this module is the one place that decides
their HTTP status, so every route answers the same way: RFC 9457 problem details as
``application/problem+json``, and :func:`document` says so in the OpenAPI schema of every route.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any, TypeAlias, TypedDict, TypeVar
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import Scope

from flexaqa.api.service.schemas import Problem, RuleProblem
from flexaqa.clips.errors import ClipError
from flexaqa.kg import UnknownIdError
from flexaqa.kg.errors import QueryError, QueryLimitError

log = logging.getLogger("flexaqa.service")

PROBLEM_JSON = "application/problem+json"
CLIENT_CLOSED = 499
"""The status of a request its client gave up on before an answer (nginx's "client closed request")."""
COMPONENTS = "#/components/schemas/"
FASTAPI_422 = ("HTTPValidationError", "ValidationError")
"""The components of FastAPI's own 422 body, which this service never sends (see :func:`document`)."""
ANY_REQUEST = {413: "The request body is larger than FLEXAQA_MAX_BODY_MB (any request)"}
"""What the app refuses before any route runs, whichever the route."""
FIELDS = {400: "body", 404: "path"}
"""The input at fault when the framework refuses a request: a body it cannot parse, a path no route has."""

Responses: TypeAlias = dict[int | str, dict[str, Any]]
"""What a route documents per status (FastAPI's ``responses``); :func:`document` completes the error ones."""
E = TypeVar("E", bound=Exception)


class ProblemMembers(TypedDict):
    """The members every :class:`Problem` has, whichever the subclass."""

    title: str
    status: int
    detail: str
    field: str | None
    instance: str


class ServiceError(Exception):
    """A request the service refuses: status, the field at fault, and why."""

    def __init__(self, status: int, detail: str, field: str | None = None,
                 headers: dict[str, str] | None = None, messages: list[str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.field, self.headers = status, detail, field, headers
        self.messages = messages


def problem(status: int, detail: str, field: str | None = None, headers: dict[str, str] | None = None,
            messages: list[str] | None = None, *, scope: Scope) -> JSONResponse:
    """The answer to the refused request of ``scope``; ``messages`` lists each problem of a refused rule edit."""
    members = problem_members(status, detail, field, scope=scope)
    body = Problem(**members) if messages is None else RuleProblem(**members, messages=messages)
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers, media_type=PROBLEM_JSON)


def problem_members(status: int, detail: str, field: str | None = None, *, scope: Scope) -> ProblemMembers:
    """The RFC 9457 members (and ``field``) of a problem answering the request of ``scope``."""
    return {"title": HTTPStatus(status).phrase, "status": status, "detail": detail, "field": field,
            "instance": _path(scope)}


def _path(scope: Scope) -> str:
    """The request's path as sent (percent-encoded), a URI reference for ``instance``."""
    raw = scope.get("raw_path")
    return raw.decode("latin-1") if raw else quote(scope.get("root_path", "") + scope["path"])


def _dotted(loc: tuple | list) -> str:
    return ".".join(str(part) for part in loc)


def install(app: FastAPI, retry_after_s: int) -> None:
    """Register the handlers that turn domain errors into answers."""

    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return problem(exc.status, exc.detail, exc.field, exc.headers, exc.messages, scope=request.scope)

    async def clip_error(request: Request, exc: ClipError) -> JSONResponse:
        return problem(422, exc.problem, exc.field, scope=request.scope)

    async def unknown_id(request: Request, exc: UnknownIdError) -> JSONResponse:
        return problem(404, str(exc), "path", scope=request.scope)

    async def query_error(request: Request, exc: QueryError) -> JSONResponse:
        if isinstance(exc, QueryLimitError):
            return problem(503, str(exc), "query", {"Retry-After": str(retry_after_s)}, scope=request.scope)
        return problem(400, str(exc), "query", scope=request.scope)

    async def validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if not errors:
            return problem(422, "invalid request", scope=request.scope)
        first = errors[0]
        loc = [p for p in first["loc"] if p != "body"] or list(first["loc"])
        return problem(422, first["msg"], _dotted(loc) or None, scope=request.scope)

    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # the router names one route's methods; a path may have several routes
            allowed = {m for regex, methods in request.app.state.methods if regex.match(request.url.path)
                       for m in methods}
            headers["Allow"] = ", ".join(sorted(allowed - {"HEAD"}))
            return problem(405, f"{request.method} is not allowed here; use {headers['Allow']}", "method", headers,
                           scope=request.scope)
        detail = f"no route answers {request.url.path}; /docs lists them" if exc.status_code == 404 else exc.detail
        return problem(exc.status_code, str(detail), FIELDS.get(exc.status_code), headers or None, scope=request.scope)

    async def disconnected(request: Request, _: ClientDisconnect) -> Response:
        """Mid-upload: nobody is left to answer, and there is no server fault to trace."""
        log.debug("client disconnected during %s %s", request.method, request.url.path)
        return Response(status_code=CLIENT_CLOSED)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "internal error; the server log has the details", scope=request.scope)

    _handle(app, ServiceError, service_error)
    _handle(app, ClipError, clip_error)
    _handle(app, UnknownIdError, unknown_id)
    _handle(app, QueryError, query_error)
    _handle(app, RequestValidationError, validation)
    _handle(app, HTTPException, http_error)
    _handle(app, ClientDisconnect, disconnected)
    _handle(app, Exception, unexpected)


def _handle(app: FastAPI, kind: type[E], handler: Callable[[Request, E], Awaitable[Response]]) -> None:
    """Register ``handler`` for ``kind``, checked to take a ``kind``: Starlette types every handler as taking
    any Exception, though it calls one only with an instance of the class it is registered for."""
    app.add_exception_handler(kind, handler)  # type: ignore[arg-type]  # Starlette's type: see above


def document(schema: dict) -> None:
    """Make the OpenAPI ``schema`` say what :func:`install` does: every error status of every operation is a
    ``Problem`` (or the subclass a route names) as ``application/problem+json``; FastAPI's default 422
    (its ``HTTPValidationError``, never sent) becomes a ``Problem``; :data:`ANY_REQUEST` is on every operation."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update({model.__name__: model.model_json_schema(ref_template=COMPONENTS + "{model}")
                       for model in (Problem, RuleProblem)})
    for name in FASTAPI_422:
        components.pop(name, None)
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            answers = operation.setdefault("responses", {})
            for status, why in ANY_REQUEST.items():
                answers.setdefault(str(status), {"description": why})
            for status, answer in answers.items():
                if status.isdigit() and int(status) >= 400:
                    answer["content"] = {PROBLEM_JSON: {"schema": _problem_schema(answer)}}


def _problem_schema(answer: dict) -> dict:
    """The Problem schema a route documented for an error status (under whatever media type), else Problem's."""
    for content in answer.get("content", {}).values():
        ref = content.get("schema", {}).get("$ref", "")
        if ref.startswith(COMPONENTS) and ref.removeprefix(COMPONENTS) not in FASTAPI_422:
            return content["schema"]
    return {"$ref": COMPONENTS + Problem.__name__}
