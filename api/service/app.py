"""The application factory: ``create_app(settings)`` wires settings, graph, query service and routes.

The graph is loaded (and validated) when the server starts, not when this module is imported, so a
bad ontology folder stops ``flexaqa serve`` with its file:line messages before it accepts a request.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel

from flexaqa.api import core
from flexaqa.api.assessor import Assessor
from flexaqa.api.service import access, errors
from flexaqa.api.service.config import Settings
from flexaqa.api.service.limits import BodyLimit, WorkLimiter
from flexaqa.api.service.routes import assess, graph, health, report, rules, sparql
from flexaqa.api.service.schemas import AssessRequest, AssessUpload
from flexaqa.api.service.supervisor import Supervisor
from flexaqa.api.service.watch import NAME as WATCHER
from flexaqa.api.service.watch import watch
from flexaqa.kg.sandbox import QuerySandbox
from flexaqa.kg.sparql import QueryService

log = logging.getLogger("flexaqa.service")

DESCRIPTION = """
Knowledge-graph feedback for weight-training form.

* **POST /assess** scores a clip (skeleton and/or sEMG, as JSON or an uploaded `.npz` bundle) against the
  Turtle rules of its action: `S = (1 - W_obs / W_max) * 100`, every point lost traced to an error, a key
  step, a time span and a rule's file and line, with coaching cues heaviest first (`?lang=en|zh`).
* **GET|POST /sparql** is a read-only SPARQL 1.1 Protocol endpoint over the Fitness Knowledge Graph:
  no updates, no LOAD, no SERVICE; each query is limited in time and result size.
* **GET /actions**, **/actions/{id}**, **/errors/{id}** give the graph as JSON for apps.
* **GET /rules**, **GET|PUT /rules/{file}** read and edit the Turtle rules: a PUT needs the rules token
  and the file's ETag as `If-Match`, is validated (parse, SHACL, engine checks) and put in force at once;
  files edited on disk are applied the same way.

Every refused request answers a 4xx (or 503 when busy) with a `Problem` as `application/problem+json`
(RFC 9457: `type`, `title`, `status`, `detail`, `instance`): `detail` says what is wrong, the extension
member `field` names the input at fault.
"""

BODY_MODELS: tuple[type[BaseModel], ...] = (AssessRequest, AssessUpload)
"""Request bodies routes read themselves (JSON or multipart on one path), added to the OpenAPI components."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """A flexaqa service configured by ``settings`` (default: from ``FLEXAQA_*`` variables)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.live = await anyio.to_thread.run_sync(core.live_graph, settings.ontology)
        app.state.assessor = Assessor(lambda: app.state.live.current, model=settings.model)
        sandbox = QuerySandbox(workers=settings.sparql_workers, timeout_s=settings.sparql_timeout_s,
                               max_results=settings.sparql_max_results)
        app.state.queries = QueryService(sandbox)
        app.state.limiter = WorkLimiter(settings.assess_workers, settings.assess_queue, settings.retry_after_s)
        log.info("serving FKG %s from %s", app.state.live.current.version, app.state.live.root)
        try:
            async with anyio.create_task_group() as tasks:
                app.state.background = Supervisor(tasks)
                if settings.watch_rules:
                    app.state.background.start(WATCHER, lambda: watch(app.state.live))
                try:
                    yield
                finally:
                    tasks.cancel_scope.cancel()
        finally:
            app.state.queries.close()

    app = FastAPI(title="flexaqa", version=version("flexaqa"), description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    errors.install(app, settings.retry_after_s)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["*"],
                           allow_headers=["*"], expose_headers=["ETag", "Retry-After"])
    if settings.access_log:
        access.configure()
        app.add_middleware(access.AccessLog)
    app.include_router(report.router)  # first: its POST /assess claims only requests that ask for HTML
    modules = (assess, sparql, graph, rules, health)
    for module in modules:
        app.include_router(module.router)
    app.state.methods = [(route.path_regex, route.methods or set())  # for the Allow header of a 405
                         for module in (report, *modules) for route in module.router.routes
                         if isinstance(route, APIRoute)]
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict:
    """FastAPI's schema plus the bodies that routes parse themselves, every error as the Problem it is
    (:func:`errors.document`), and ``lang`` limited to the languages of the graph in force: made again when
    a rule edit changes those."""
    live = getattr(app.state, "live", None)
    languages = core.languages(live.current) if live is not None else None
    if app.openapi_schema is None or getattr(app.state, "openapi_languages", None) != languages:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in BODY_MODELS:
            model_schema = model.model_json_schema(ref_template=assess.REF)
            components.update(model_schema.pop("$defs", {}))
            components[model.__name__] = model_schema
        errors.document(schema)
        if languages is not None:
            _limit_languages(schema, languages)
        app.openapi_schema, app.state.openapi_languages = schema, languages
    return app.openapi_schema


def _limit_languages(schema: dict, languages: list[str]) -> None:
    """Every ``?lang`` parameter as an enum of ``languages``: the ones :func:`core.check_language` accepts."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["name"] == "lang":
                    parameter["schema"]["enum"] = languages
