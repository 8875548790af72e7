"""The one SPARQL path of every front end: resolve a query, bind it, run it guarded and bounded.

Shipped competency queries are trusted and run in-process (they take well under a millisecond); any
other text runs in a :class:`kg.sandbox.QuerySandbox` worker, offline, with a time, result-size and
memory limit, after :func:`kg.guard.screen` has parsed it: the graph is read-only, so updates, ``LOAD``
and federated ``SERVICE`` queries are refused before anything is evaluated, as are queries too long or
too deeply nested to parse safely.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from flexaqa.kg import queries
from flexaqa.kg.errors import QueryError
from flexaqa.kg.graph import Binding, KnowledgeGraph, python_value
from flexaqa.kg.namespace import PREFIXES
from flexaqa.kg.per_graph import PerGraph
from flexaqa.kg.sandbox import QueryAnswer, QuerySandbox, rdf_format, results_format, syntax_message, written

RESULT_MEDIA_TYPES = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
GRAPH_MEDIA_TYPES = {"ttl": "text/turtle", "nt": "application/n-triples", "rdfxml": "application/rdf+xml"}

_VARIABLE = re.compile(r"[?$]([A-Za-z_]\w*)")
_NAME = re.compile(r"^[A-Za-z_][\w-]*$")
_BIND_HEADER = re.compile(r"Bind ((?:\?\w+(?:, )?)+)")


@dataclass(frozen=True)
class Query:
    """A resolved query: its text, whether it is a shipped (trusted) one, and the bindings it requires."""

    text: str
    name: str | None = None
    required: tuple[str, ...] = ()


def resolve(query: str) -> Query:
    """A shipped query's name, or SPARQL text; a name that is not shipped gets the nearest suggestion."""
    if query in queries.names():
        text = queries.text(query)
        header = _BIND_HEADER.search(text.splitlines()[0])
        required = tuple(v.strip(" ?") for v in header.group(1).split(",")) if header else ()
        return Query(text, query, required)
    if _NAME.match(query) and query.upper() not in {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}:
        near = difflib.get_close_matches(query, queries.names(), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise QueryError(f"no shipped query named {query!r}{hint} (see flexaqa sparql --list)")
    return Query(query)


def read_query_file(path: Path) -> str:
    """The text of a ``.rq`` file, with a one-line error for a missing, unreadable or non-UTF-8 file."""
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise QueryError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise QueryError(f"{path} is not UTF-8 text (byte {exc.start}): not a SPARQL query file") from None


def parse_binding(text: str) -> tuple[str, str | float]:
    """``NAME=VALUE`` -> (name, value): numbers become numbers, the rest stays text (see ``KnowledgeGraph.query``)."""
    name, sep, value = text.partition("=")
    name = name.strip().lstrip("?$")
    if not sep or not _NAME.match(name):
        raise QueryError(f"a binding is NAME=VALUE, got {text!r}")
    if value[:1].isupper() and not _NAME.match(value):  # capitalised values are FKG ids, which are names
        raise QueryError(f"{value!r} is not an FKG id (letters, digits, _ or -): binding {name}")
    try:
        return name, float(value) if "." in value or "e" in value.lower() else int(value)
    except ValueError:
        return name, value


def check_bindings(query: Query, bindings: dict[str, str | float]) -> None:
    """Every required variable bound, and every bound variable used by the query."""
    used = set(_VARIABLE.findall(query.text))
    unknown = sorted(set(bindings) - used)
    missing = [v for v in query.required if v not in bindings]
    problems = []
    if missing:
        problems.append(f"needs --bind for {', '.join(missing)}")
    if unknown:
        problems.append(f"has no variable {', '.join(unknown)} (its variables: {', '.join(sorted(used))})")
    if problems:
        what = f"query {query.name!r}" if query.name else "the query"
        raise QueryError(f"{what} " + " and ".join(problems))


class QueryService:
    """Runs queries over whatever graph is in force: shipped ones in-process, any other text sandboxed."""

    def __init__(self, sandbox: QuerySandbox | None = None) -> None:
        self.sandbox = sandbox or QuerySandbox(workers=1)
        self._data: PerGraph[str, bytes] = PerGraph(size=1)  # the workers hold one graph too

    def answer(self, kg: KnowledgeGraph, query: Query, bindings: dict[str, str | float] | None = None,
               results: str = "json", graph: str = "ttl") -> QueryAnswer:
        """The query's result serialised as ``results`` (SELECT/ASK) or ``graph`` (CONSTRUCT/DESCRIBE)."""
        bindings = bindings or {}
        check_bindings(query, bindings)
        try:
            if query.name is not None:
                return _serialise(kg.query(query.text, **bindings), results, graph)
            text = kg.bind(query.text, **bindings) if bindings else query.text
            return self.sandbox.run(kg.version, self._ntriples(kg), text, PREFIXES,
                                    RESULT_MEDIA_TYPES[results], GRAPH_MEDIA_TYPES[graph])
        except SyntaxError as exc:
            raise QueryError(syntax_message(exc, PREFIXES)) from None

    def rows(self, kg: KnowledgeGraph, query: Query, bindings: dict[str, str | float] | None = None
             ) -> tuple[list[str], list[dict[str, Binding]]] | bool | bytes:
        """Plain values for a terminal: (columns, rows) for SELECT, a bool for ASK, Turtle for a graph."""
        answer = self.answer(kg, query, bindings)
        if answer.kind == "graph":
            return answer.body
        parsed = ox.parse_query_results(answer.body, format=ox.QueryResultsFormat.JSON)
        if isinstance(parsed, ox.QueryBoolean):
            return bool(parsed)
        columns = [v.value for v in parsed.variables]
        return columns, [{c: python_value(row[c]) for c in columns} for row in parsed]

    def _ntriples(self, kg: KnowledgeGraph) -> bytes:
        return self._data.get(kg.version, lambda: kg.serialize(ox.RdfFormat.N_TRIPLES))

    def close(self) -> None:
        self.sandbox.close()


def _serialise(result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples, results: str, graph: str
               ) -> QueryAnswer:
    if isinstance(result, ox.QueryTriples):
        triples = list(result)
        graph_fmt = rdf_format(GRAPH_MEDIA_TYPES[graph])
        return QueryAnswer("graph", written(ox.serialize(triples, format=graph_fmt)), graph_fmt.media_type,
                           len(triples))
    fmt = results_format(RESULT_MEDIA_TYPES[results])
    kind = "boolean" if isinstance(result, ox.QueryBoolean) else "solutions"
    return QueryAnswer(kind, written(result.serialize(format=fmt)), fmt.media_type, None)
