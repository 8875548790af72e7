"""Killable worker processes for untrusted SPARQL: the time, size and memory limits of every user query.

pyoxigraph evaluates a query in Rust without a way to interrupt it, so a pathological query (a cross
product of the whole graph) cannot be stopped from inside the process that runs it. User queries
therefore run in small worker processes that hold a copy of the graph in force (sent once per KG
version as N-Triples) and are killed when they overrun; the caller gets a clear error within the time
limit plus the cost of the kill, and the other workers keep answering meanwhile.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import resource
import time
from collections.abc import Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection

import pyoxigraph as ox

from kg.errors import QueryError, QueryLimitError

log = logging.getLogger(__name__)

WORKER_MEMORY_BYTES = 2 * 1024**3
"""Address-space cap of a worker: a query that materialises a huge intermediate result dies, the host lives."""


@dataclass(frozen=True)
class QueryAnswer:
    """A query's result serialised in the asked format: ``kind`` is ``solutions``, ``boolean`` or ``graph``."""

    kind: str
    body: bytes
    media_type: str
    count: int | None
    """Rows or triples in the result, when counted (queries run in a worker are)."""


@dataclass(frozen=True)
class _Request:
    version: str
    data: bytes | None
    query: str
    prefixes: dict[str, str]
    results_format: str
    graph_format: str
    max_results: int


def _serve(conn: Connection) -> None:
    """Worker main loop: load graphs on request, answer queries, report errors as text."""
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    store, version = ox.Store(), None
    while True:
        try:
            request: _Request = conn.recv()
        except EOFError:
            return
        try:
            if request.version != version:
                store = ox.Store()
                store.bulk_load(request.data, format=ox.RdfFormat.N_TRIPLES)
                version = request.version
            conn.send(("ok", _answer(store, request)))
        except _TooMany as exc:
            conn.send(("limit", str(exc)))
        except MemoryError:
            conn.send(("limit", "the query needs more memory than a query may use"))
        except SyntaxError as exc:
            conn.send(("error", syntax_message(exc, request.prefixes)))
        except (ValueError, OSError, RuntimeError) as exc:
            conn.send(("error", f"the query failed: {exc}"))


def syntax_message(exc: SyntaxError, prefixes: Iterable[str]) -> str:
    """One readable line for a SPARQL syntax error (the parser lists whole Unicode classes it expected)."""
    text = str(exc)
    where = text.split(":", 1)[0] if text.startswith("error at") else "error"
    if "Prefix not found" in text:
        return f"bad query: {where}: unknown prefix; declare it with PREFIX (predeclared: {', '.join(prefixes)})"
    first = text.splitlines()[0]
    return f"bad query: {first if len(first) <= 160 else first[:160] + ' ...'}"


def _answer(store: ox.Store, request: _Request) -> QueryAnswer:
    result = store.query(request.query, prefixes=request.prefixes)
    if isinstance(result, ox.QueryBoolean):
        fmt = ox.QueryResultsFormat.from_media_type(request.results_format)
        return QueryAnswer("boolean", result.serialize(format=fmt), fmt.media_type, 1)
    if isinstance(result, ox.QueryTriples):
        triples = []
        for triple in result:
            triples.append(triple)
            if len(triples) > request.max_results:
                raise _TooMany(request.max_results, "triples")
        fmt = ox.RdfFormat.from_media_type(request.graph_format)
        prefixes = request.prefixes if fmt == ox.RdfFormat.TURTLE else None
        return QueryAnswer("graph", ox.serialize(triples, format=fmt, prefixes=prefixes), fmt.media_type,
                           len(triples))
    count = 0
    for _ in result:
        count += 1
        if count > request.max_results:
            raise _TooMany(request.max_results, "rows")
    fmt = ox.QueryResultsFormat.from_media_type(request.results_format)
    # Counted first, serialised second: pyoxigraph serialises only a live result, so the query runs again.
    again = store.query(request.query, prefixes=request.prefixes)
    return QueryAnswer("solutions", again.serialize(format=fmt), fmt.media_type, count)


class _TooMany(ValueError):
    def __init__(self, limit: int, what: str) -> None:
        super().__init__(f"the result has more than {limit} {what}; add a LIMIT or narrow the query")


class _Worker:
    """One worker process and the pipe to it; remembers which KG version it holds."""

    def __init__(self, context: multiprocessing.context.BaseContext) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), daemon=True, name="flexaqa-sparql")
        self.process.start()
        child.close()
        self.version: str | None = None

    def kill(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class QuerySandbox:
    """A pool of ``workers`` query processes, each query limited to ``timeout_s`` and ``max_results``.

    Thread-safe: concurrent callers each take an idle worker; when none frees up within the time
    limit the caller is told the endpoint is busy. A worker that overruns is killed and replaced.
    """

    def __init__(self, workers: int = 2, timeout_s: float = 5.0, max_results: int = 10_000) -> None:
        if workers < 1:
            raise ValueError("a query sandbox needs at least one worker")
        self.timeout_s, self.max_results = timeout_s, max_results
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(workers):
            self._idle.put(None)  # started on first use, so an unused sandbox costs nothing

    def run(self, version: str, data: bytes, query: str, prefixes: dict[str, str],
            results_format: str = "application/sparql-results+json",
            graph_format: str = "text/turtle") -> QueryAnswer:
        """Evaluate ``query`` over the graph ``data`` (N-Triples of KG ``version``) in a worker."""
        deadline = time.monotonic() + self.timeout_s
        try:
            worker = self._idle.get(timeout=self.timeout_s)
        except queue.Empty:
            raise QueryLimitError("every query worker is busy; try again shortly") from None
        try:
            worker = worker or _Worker(self._context)
            send = data if worker.version != version else None
            worker.conn.send(_Request(version, send, query, prefixes, results_format, graph_format,
                                      self.max_results))
            if not worker.conn.poll(max(0.0, deadline - time.monotonic())):
                worker.kill()
                worker = None
                raise QueryLimitError(f"the query ran longer than the {self.timeout_s:g} s limit and was stopped")
            status, payload = worker.conn.recv()
            worker.version = version
        except (EOFError, OSError, BrokenPipeError):
            if worker is not None:
                worker.kill()
            worker = None
            raise QueryLimitError("the query worker stopped (out of memory, or killed); try a narrower query") from None
        finally:
            self._idle.put(worker)
        if status == "limit":
            raise QueryLimitError(payload)
        if status == "error":
            raise QueryError(payload)
        return payload

    def close(self) -> None:
        """Stop every worker process."""
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            if worker is not None:
                worker.kill()
