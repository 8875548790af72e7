"""``GET|POST /sparql``: the SPARQL 1.1 Protocol query operation over the graph in force.

The query goes through :class:`kg.sparql.QueryService`, the same path as ``flexaqa sparql``: updates,
LOAD and SERVICE are refused before evaluation, user text runs in a killable sandbox process with time
and size limits. The call runs in a thread so a slow query never blocks the event loop.

As an extension, ``query`` may also be the name of a shipped competency query, with ``bind=NAME=VALUE``
parameters (as ``flexaqa sparql NAME --bind ...``).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Sequence
from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request, Response
from starlette.datastructures import FormData

from flexaqa.api.service.deps import GraphDep, QueriesDep
from flexaqa.api.service.errors import Responses, ServiceError
from flexaqa.api.service.media import media_type
from flexaqa.api.service.schemas import Problem
from flexaqa.kg import sparql

router = APIRouter(tags=["sparql"])

RESULT_TYPES = [  # server preference order first; aliases map to the same format
    ("json", "application/sparql-results+json"), ("json", "application/json"),
    ("xml", "application/sparql-results+xml"), ("xml", "application/xml"),
    ("csv", "text/csv"), ("tsv", "text/tab-separated-values"),
]
GRAPH_TYPES = list(sparql.GRAPH_MEDIA_TYPES.items())
FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"

ANSWERS: Responses = {
    200: {"description": "The result in the negotiated format",
          "content": {media: {} for _, media in RESULT_TYPES + GRAPH_TYPES}},
    400: {"model": Problem, "description": "Missing, malformed or refused query (update, LOAD, SERVICE, too long)"},
    406: {"model": Problem, "description": "No acceptable result format"},
    415: {"model": Problem, "description": "POST body neither form-encoded nor application/sparql-query"},
    503: {"model": Problem, "description": "The query hit a limit (time, size) or every worker is busy"},
}
RELATIVE_IRI = re.compile(r"<(?![A-Za-z][A-Za-z0-9+.-]*:)[^<>\"{}|^`\\\x00-\x20]*>")
"""An IRI reference without a scheme (``<s>``): resolved against the endpoint's own IRI, as the protocol says."""
SAFE_AUTHORITY = re.compile(r"[A-Za-z0-9.\-]+(:\d+)?|\[[0-9A-Fa-f:.]+\](:\d+)?")
QUERY_DOC = "SPARQL query text (or a shipped query's name, see `flexaqa sparql --list`)"
BIND_DOC = "NAME=VALUE, pre-binds ?NAME (capitalised values are FKG ids); repeatable"


def parse_accept(header: str | None) -> list[tuple[str, float]]:
    """``Accept`` as (media range, q) pairs; an absent or empty header accepts anything."""
    ranges = []
    for part in (header or "*/*").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        ranges.append((media.lower(), q))
    return ranges or [("*/*", 1.0)]


def quality(ranges: list[tuple[str, float]], media: str) -> float:
    """The q the most specific matching range gives ``media`` (0 when none matches)."""
    best, specificity = 0.0, -1
    for rng, q in ranges:
        level = 2 if rng == media else 1 if rng == media.split("/")[0] + "/*" else 0 if rng == "*/*" else -1
        if level > specificity:
            best, specificity = q, level
    return best


def choose(ranges: list[tuple[str, float]], offers: list[tuple[str, str]]) -> str | None:
    """The format the client prefers most among ``offers``, ties going to the server's order."""
    scored = [(quality(ranges, media), -i, fmt) for i, (fmt, media) in enumerate(offers)]
    q, _, fmt = max(scored)
    return fmt if q > 0 else None


async def _run(request: Request, kg: GraphDep, service: QueriesDep, text: str | None, binds: list[str]) -> Response:
    if not text or not text.strip():
        raise ServiceError(400, "missing: give the SPARQL query as the 'query' parameter", "query")
    ranges = parse_accept(request.headers.get("accept"))
    results, graph = choose(ranges, RESULT_TYPES), choose(ranges, GRAPH_TYPES)
    offered = ", ".join(media for _, media in RESULT_TYPES + GRAPH_TYPES)
    if results is None and graph is None:
        raise ServiceError(406, f"cannot answer in {request.headers.get('accept')}; offered: {offered}", "accept")
    query = _with_base(request, sparql.resolve(text))
    bindings = dict(sparql.parse_binding(b) for b in binds)
    run = functools.partial(service.answer, kg, query, bindings, results=results or "json", graph=graph or "ttl")
    answer = await anyio.to_thread.run_sync(run)
    if (graph is None) if answer.kind == "graph" else (results is None):
        kinds = "an RDF graph" if answer.kind == "graph" else "a result table"
        raise ServiceError(406, f"the query returns {kinds}, and {request.headers.get('accept')} accepts none of "
                           f"its formats; offered: {offered}", "accept")
    return Response(answer.body, media_type=answer.media_type, headers={"Vary": "Accept"})


def _with_base(request: Request, query: sparql.Query) -> sparql.Query:
    """The query with ``BASE <this endpoint>`` first when it uses relative IRIs (only then, so that error
    positions in every other query stay those of the text sent). An odd Host header falls back to localhost."""
    if query.name is not None or not RELATIVE_IRI.search(query.text):
        return query
    authority = request.url.netloc if SAFE_AUTHORITY.fullmatch(request.url.netloc) else "localhost"
    scheme = "https" if request.url.scheme == "https" else "http"
    return dataclasses.replace(query, text=f"BASE <{scheme}://{authority}{request.url.path}>\n{query.text}")


def _one_query(values: list) -> None:
    if len(values) > 1:
        raise ServiceError(400, f"{len(values)} 'query' parameters given; send exactly one query", "query")


def _refuse_datasets(params: FormData | dict) -> None:
    for name in ("default-graph-uri", "named-graph-uri"):
        if name in params:
            raise ServiceError(400, f"{name} is not supported: this endpoint serves one graph, the FKG in force", name)


@router.get("/sparql", summary="SPARQL query (GET)", responses=ANSWERS)
async def sparql_get(request: Request, kg: GraphDep, service: QueriesDep,
                     query: Annotated[str | None, Query(description=QUERY_DOC)] = None,
                     bind: Annotated[Sequence[str], Query(description=BIND_DOC)] = ()) -> Response:  # noqa: B008
    """Run a read-only query given as `?query=`. The result format follows `Accept`:
    `application/sparql-results+json` (default), `+xml`, `text/csv`, `text/tab-separated-values` for
    SELECT/ASK; `text/turtle` (default), `application/n-triples` or `application/rdf+xml` for CONSTRUCT/DESCRIBE."""
    _refuse_datasets(dict(request.query_params))
    _one_query(request.query_params.getlist("query"))
    return await _run(request, kg, service, query, list(bind))


@router.post("/sparql", summary="SPARQL query (POST)", responses=ANSWERS, openapi_extra={"requestBody": {
    "required": True, "content": {
        FORM: {"schema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}},
        SPARQL_QUERY: {"schema": {"type": "string"}}}}})
async def sparql_post(request: Request, kg: GraphDep, service: QueriesDep) -> Response:
    """Run a read-only query sent as a form (`query=`) or as the body with type `application/sparql-query`.
    Results are negotiated as for GET."""
    _refuse_datasets(dict(request.query_params))
    if media_type(request, FORM, SPARQL_QUERY) == FORM:
        form = await request.form()
        _refuse_datasets(form)
        _one_query(form.getlist("query"))
        text = form.get("query")
        if text is not None and not isinstance(text, str):
            raise ServiceError(400, "must be text", "query")
        return await _run(request, kg, service, text, [str(b) for b in form.getlist("bind")])
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ServiceError(400, f"not UTF-8 text (byte {exc.start})", "query") from None
    return await _run(request, kg, service, text, request.query_params.getlist("bind"))
