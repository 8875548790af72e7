"""Killable, offline worker processes for untrusted SPARQL: every user query's guard and limits.

pyoxigraph evaluates a query in Rust without a way to interrupt it, so a pathological query (a cross
product of the whole graph) cannot be stopped from inside the process that runs it. User queries
therefore run in small worker processes that hold a copy of the graph in force (sent once per KG
version as N-Triples) and are killed when they overrun; the caller gets a clear error within the time
limit plus the cost of the kill, and the other workers keep answering meanwhile.

A worker parses each query before evaluating it (:func:`kg.guard.screen`: no ``SERVICE``, no update), and
it runs in a network namespace of its own, so even a ``SERVICE`` the guard missed finds no network to
reach. Where the OS refuses the namespace, :attr:`QuerySandbox.isolation` says why (``/readyz`` shows it).
"""

from __future__ import annotations

import ctypes
import io
import logging
import multiprocessing
import os
import queue
import resource
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection

import pyoxigraph as ox

from flexaqa.kg import guard
from flexaqa.kg.errors import QueryError, QueryLimitError, QueryRefusedError

log = logging.getLogger(__name__)

WORKER_MEMORY_BYTES = 2 * 1024**3
"""Address-space cap of a worker: a query that materialises a huge intermediate result dies, the host lives."""
MAX_RESULT_BYTES = 64 * 1024**2
"""Largest serialised result a worker sends back; a bigger one is refused as it is being written."""
START_TIMEOUT_S = 60.0
"""How long a new worker may take to start (spawn, imports) and report whether it is isolated."""
CLONE_NEWNET, CLONE_NEWUSER = 0x40000000, 0x10000000
"""``unshare(2)`` flags (``os.CLONE_NEWNET`` and ``os.CLONE_NEWUSER`` from Python 3.12)."""


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
    """Worker main loop: cut the network, then load graphs on request, answer queries, report errors as text."""
    conn.send(_isolate_network())
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
            query = guard.screen(request.query)
            conn.send(("ok", _answer(store, request, query)))
        except QueryRefusedError as exc:
            conn.send(("refused", str(exc)))
        except QueryError as exc:
            conn.send(("error", str(exc)))
        except _TooMany as exc:
            conn.send(("limit", str(exc)))
        except MemoryError:
            conn.send(("limit", "the query needs more memory than a query may use"))
        except SyntaxError as exc:
            conn.send(("error", syntax_message(exc, request.prefixes)))
        except (ValueError, OSError, RuntimeError) as exc:
            conn.send(("error", f"the query failed: {exc}"))


def _isolate_network() -> str | None:
    """Move this process into a network namespace of its own, where no address is reachable: ``None``
    once done, else why not. Unprivileged processes need a user namespace for it, so that is tried next."""
    if not sys.platform.startswith("linux"):
        return f"network namespaces are a Linux feature; this is {sys.platform}"
    libc = ctypes.CDLL(None, use_errno=True)
    reasons = []
    for flags in (CLONE_NEWNET, CLONE_NEWUSER | CLONE_NEWNET):
        if libc.unshare(flags) == 0:
            return None
        reasons.append(os.strerror(ctypes.get_errno()))
    return f"the OS refused a network namespace ({'; '.join(dict.fromkeys(reasons))})"


def syntax_message(exc: SyntaxError, prefixes: Iterable[str]) -> str:
    """One readable line for a SPARQL syntax error (the parser lists whole Unicode classes it expected)."""
    text = str(exc)
    where = text.split(":", 1)[0] if text.startswith("error at") else "error"
    if "Prefix not found" in text:
        return f"bad query: {where}: unknown prefix; declare it with PREFIX (predeclared: {', '.join(prefixes)})"
    first = text.splitlines()[0]
    return f"bad query: {first if len(first) <= 160 else first[:160] + ' ...'}"


def _answer(store: ox.Store, request: _Request, query: str) -> QueryAnswer:
    """Evaluate ``query`` once and serialise it in the asked format, within the result limits."""
    result = store.query(query, prefixes=request.prefixes)
    if isinstance(result, ox.QueryBoolean):
        fmt = results_format(request.results_format)
        return QueryAnswer("boolean", written(result.serialize(format=fmt)), fmt.media_type, 1)
    if isinstance(result, ox.QueryTriples):
        triples = []
        for triple in result:
            triples.append(triple)
            if len(triples) > request.max_results:
                raise _TooMany(f"more than {request.max_results} triples")
        graph_fmt = rdf_format(request.graph_format)
        prefixes = request.prefixes if graph_fmt == ox.RdfFormat.TURTLE else None
        return QueryAnswer("graph", written(ox.serialize(triples, format=graph_fmt, prefixes=prefixes)),
                           graph_fmt.media_type, len(triples))
    # pyoxigraph serialises a live result, so the rows are written once as JSON, counted by reading that
    # back, and only then translated into the asked format: the query is never evaluated twice.
    buffer = _Capped(MAX_RESULT_BYTES)
    result.serialize(buffer, format=ox.QueryResultsFormat.JSON)
    body = buffer.getvalue()
    rows = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
    count = sum(1 for _ in rows) if isinstance(rows, ox.QuerySolutions) else 0
    if count > request.max_results:
        raise _TooMany(f"more than {request.max_results} rows")
    fmt = results_format(request.results_format)
    if fmt != ox.QueryResultsFormat.JSON:
        body = written(ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON).serialize(format=fmt))
    return QueryAnswer("solutions", body, fmt.media_type, count)


def rdf_format(media_type: str) -> ox.RdfFormat:
    fmt = ox.RdfFormat.from_media_type(media_type)
    if fmt is None:
        raise ValueError(f"no RDF format for {media_type!r}")
    return fmt


def results_format(media_type: str) -> ox.QueryResultsFormat:
    fmt = ox.QueryResultsFormat.from_media_type(media_type)
    if fmt is None:
        raise ValueError(f"no SPARQL results format for {media_type!r}")
    return fmt


def written(data: bytes | None) -> bytes:
    """What pyoxigraph serialised to memory (it answers ``None`` only when given a file to write to)."""
    if data is None:
        raise RuntimeError("pyoxigraph serialised to nowhere")
    return data


class _Capped(io.BytesIO):
    """A bytes buffer that refuses to grow past ``limit``: an oversized result stops while it is written."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.tell() + len(data) > self.limit:
            raise _TooMany(f"more than {self.limit // 1024**2} MB")
        return super().write(data)


class _TooMany(ValueError):
    def __init__(self, what: str) -> None:
        super().__init__(f"the result has {what}; add a LIMIT or narrow the query")


class _Worker:
    """One worker process and the pipe to it; remembers which KG version it holds and how it is isolated."""

    def __init__(self, context: multiprocessing.context.SpawnContext) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), daemon=True, name="flexaqa-sparql")
        self.process.start()
        child.close()
        self.version: str | None = None
        if not self.conn.poll(START_TIMEOUT_S):
            self.kill()
            raise QueryLimitError(f"a query worker did not start within {START_TIMEOUT_S:g} s; try again shortly")
        self.isolation: str | None = self.conn.recv()

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
        self._isolation: str | None = None
        self._probed = False
        for _ in range(workers):
            self._idle.put(None)  # started on first use, so an unused sandbox costs nothing

    @property
    def isolation(self) -> str | None:
        """``None`` when the workers have no network, else why they could not be cut off (a worker is
        started to find out, if none has been yet)."""
        if not self._probed:
            self._idle.put(self._take())
        return self._isolation

    def run(self, version: str, data: bytes, query: str, prefixes: dict[str, str],
            results_format: str = "application/sparql-results+json",
            graph_format: str = "text/turtle") -> QueryAnswer:
        """Screen and evaluate ``query`` over the graph ``data`` (N-Triples of KG ``version``) in a worker."""
        worker = self._take()
        held: _Worker | None = worker  # what goes back to the pool: None once the worker is killed
        deadline = time.monotonic() + self.timeout_s
        try:
            send = data if worker.version != version else None
            worker.conn.send(_Request(version, send, query, prefixes, results_format, graph_format,
                                      self.max_results))
            if not worker.conn.poll(max(0.0, deadline - time.monotonic())):
                worker.kill()
                held = None
                raise QueryLimitError(f"the query ran longer than the {self.timeout_s:g} s limit and was stopped")
            status, payload = worker.conn.recv()
            worker.version = version
        except (EOFError, OSError, BrokenPipeError):
            if held is not None:
                worker.kill()
            held = None
            raise QueryLimitError("the query worker stopped (out of memory, or killed); try a narrower query") from None
        finally:
            self._idle.put(held)
        if status == "limit":
            raise QueryLimitError(payload)
        if status == "refused":
            raise QueryRefusedError(payload)
        if status == "error":
            raise QueryError(payload)
        return payload

    def _take(self) -> _Worker:
        """An idle worker, started if its slot is empty; the endpoint is busy if none frees up in time."""
        try:
            worker = self._idle.get(timeout=self.timeout_s)
        except queue.Empty:
            raise QueryLimitError("every query worker is busy; try again shortly") from None
        if worker is not None:
            return worker
        try:
            worker = _Worker(self._context)
        except BaseException:
            self._idle.put(None)
            raise
        if not self._probed and worker.isolation is not None:
            log.warning("SPARQL workers can reach the network: %s; the query guard alone keeps SERVICE out",
                        worker.isolation)
        self._isolation, self._probed = worker.isolation, True
        return worker

    def close(self) -> None:
        """Stop every worker process."""
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            if worker is not None:
                worker.kill()
