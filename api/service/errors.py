"""Every failure as a 4xx/503 with a :class:`Problem` body naming the field: never a traceback.

The domain errors come from the shared layers (clips, kg); this module is the one place that decides
their HTTP status, so every route answers the same way.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.service.schemas import Problem, RuleProblem
from clips.errors import ClipError
from kg import UnknownIdError
from kg.errors import QueryError, QueryLimitError

log = logging.getLogger("flexaqa.service")


class ServiceError(Exception):
    """A request the service refuses: status, the field at fault, and why."""

    def __init__(self, status: int, detail: str, field: str | None = None,
                 headers: dict[str, str] | None = None, messages: list[str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.field, self.headers = status, detail, field, headers
        self.messages = messages


def problem(status: int, detail: str, field: str | None = None, headers: dict[str, str] | None = None,
            messages: list[str] | None = None) -> JSONResponse:
    """The answer to a refused request; ``messages`` lists each problem of a refused rule edit."""
    body = Problem(detail=detail, field=field) if messages is None else RuleProblem(
        detail=detail, field=field, messages=messages)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _dotted(loc: tuple | list) -> str:
    return ".".join(str(part) for part in loc)


def install(app: FastAPI, retry_after_s: int) -> None:
    """Register the handlers that turn domain errors into answers."""

    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return problem(exc.status, exc.detail, exc.field, exc.headers, exc.messages)

    async def clip_error(_: Request, exc: ClipError) -> JSONResponse:
        return problem(422, exc.problem, exc.field)

    async def unknown_id(_: Request, exc: UnknownIdError) -> JSONResponse:
        return problem(404, str(exc))

    async def query_error(_: Request, exc: QueryError) -> JSONResponse:
        if isinstance(exc, QueryLimitError):
            return problem(503, str(exc), "query", {"Retry-After": str(retry_after_s)})
        return problem(400, str(exc), "query")

    async def validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        loc = [p for p in first["loc"] if p != "body"] or list(first["loc"])
        return problem(422, first["msg"], _dotted(loc) or None)

    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # the router names one route's methods; a path may have several routes
            allowed = {m for regex, methods in request.app.state.methods if regex.match(request.url.path)
                       for m in methods}
            headers["Allow"] = ", ".join(sorted(allowed - {"HEAD"}))
            return problem(405, f"{request.method} is not allowed here; use {headers['Allow']}", "method", headers)
        return problem(exc.status_code, str(exc.detail), None, headers or None)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "internal error; the server log has the details")

    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(ClipError, clip_error)
    app.add_exception_handler(UnknownIdError, unknown_id)
    app.add_exception_handler(QueryError, query_error)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
