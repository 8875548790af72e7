"""The query layer every front end shares is read-only, offline and bounded, and says what was wrong."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from kg import KnowledgeGraph
from kg.errors import QueryError, QueryLimitError, QueryRefusedError
from kg.sandbox import QuerySandbox
from kg.sparql import QueryService, check, parse_binding, resolve

CROSS_PRODUCT = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


@pytest.fixture(scope="module")
def service() -> Iterator[QueryService]:
    """Two workers, a one-second limit: enough to show one query stopped while another is answered."""
    svc = QueryService(QuerySandbox(workers=2, timeout_s=1.0, max_results=100))
    yield svc
    svc.close()


class Listener:
    """A TCP port on loopback that records every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.mark.parametrize("silent", ["", "SILENT "])
def test_service_queries_are_refused_and_the_port_sees_no_connection(
        kg: KnowledgeGraph, service: QueryService, flexaqa, silent: str) -> None:
    listener = Listener()
    try:
        query = f"SELECT * WHERE {{ SERVICE {silent}<http://127.0.0.1:{listener.port}/sparql> {{ ?s ?p ?o }} }}"
        with pytest.raises(QueryRefusedError, match="federated"):
            service.answer(kg, resolve(query))
        out = flexaqa("sparql", query)
        assert out.returncode == 1 and "federated" in out.stderr and "Traceback" not in out.stderr
        time.sleep(0.3)
    finally:
        listener.close()
    assert listener.connections == 0


@pytest.mark.parametrize("update", [
    "INSERT DATA { fkg:A16 rdfs:label 'x' }",
    "DELETE WHERE { ?s ?p ?o }",
    "DROP ALL",
    "LOAD <http://example.org/data.ttl>",
    "CLEAR DEFAULT",
])
def test_updates_are_refused_as_read_only(update: str) -> None:
    with pytest.raises(QueryRefusedError, match="read-only"):
        check(update)


def test_keywords_inside_strings_iris_names_and_comments_are_not_mistaken_for_updates() -> None:
    check('SELECT ?load ?service WHERE { ?load rdfs:label "insert service drop" ; '
          '<http://example.org/delete> fkg:load . } # LOAD later')


def test_deep_nesting_is_refused_before_parsing(flexaqa) -> None:
    out = flexaqa("sparql", "SELECT * WHERE " + "{" * 3000 + "}" * 3000)
    assert out.returncode == 1 and "nests brackets" in out.stderr


def test_overlong_queries_are_refused() -> None:
    with pytest.raises(QueryRefusedError, match="characters long"):
        check("SELECT * WHERE { ?s ?p ?o } #" + "x" * 30_000)


def test_a_cross_product_is_stopped_at_the_time_limit_and_others_are_answered(
        kg: KnowledgeGraph, service: QueryService) -> None:
    service.rows(kg, resolve("SELECT ?a WHERE { ?a a fkg:Action } LIMIT 1"))  # the workers hold the graph
    answered: list[float] = []

    def meanwhile() -> None:
        time.sleep(0.3)
        service.rows(kg, resolve("SELECT (COUNT(?a) AS ?n) WHERE { ?a a fkg:Action }"))
        answered.append(time.monotonic())

    other = threading.Thread(target=meanwhile)
    other.start()
    start = time.monotonic()
    with pytest.raises(QueryLimitError, match="1 s limit"):
        service.answer(kg, resolve(CROSS_PRODUCT))
    stopped = time.monotonic()
    other.join()
    assert stopped - start < 1.0 + 10.0  # the limit, with slack for a loaded machine: unstopped it runs for hours
    assert answered and answered[0] < stopped  # answered while the cross product was still running
    columns, rows = service.rows(kg, resolve("SELECT (COUNT(?a) AS ?n) WHERE { ?a a fkg:Action }"))
    assert rows == [{"n": 20}]


def test_results_larger_than_the_limit_are_refused(kg: KnowledgeGraph, service: QueryService) -> None:
    with pytest.raises(QueryLimitError, match="more than 100 rows"):
        service.answer(kg, resolve("SELECT * WHERE { ?s ?p ?o }"))


def test_a_shipped_query_names_its_missing_and_unknown_bindings(kg: KnowledgeGraph, service: QueryService) -> None:
    with pytest.raises(QueryError, match="needs --bind for phase, lang"):
        service.rows(kg, resolve("errors_in_phase"), {"action": "A16"})
    with pytest.raises(QueryError, match="has no variable colour"):
        service.rows(kg, resolve("action_key_steps"), {"action": "A16", "colour": "red"})


def test_a_misspelled_query_name_suggests_the_nearest() -> None:
    with pytest.raises(QueryError, match="did you mean 'action_key_steps'"):
        resolve("action_keysteps")


def test_an_unknown_prefix_is_one_line(kg: KnowledgeGraph, service: QueryService) -> None:
    with pytest.raises(QueryError) as err:
        service.answer(kg, resolve("SELECT * WHERE { ?s foo:bar ?o }"))
    assert "unknown prefix" in str(err.value) and "\n" not in str(err.value) and "u{" not in str(err.value)


def test_bindings_are_typed() -> None:
    assert parse_binding("action=A16") == ("action", "A16")
    assert parse_binding("?w=7") == ("w", 7)
    assert parse_binding("t=0.5") == ("t", 0.5)
    with pytest.raises(QueryError, match="NAME=VALUE"):
        parse_binding("A16")


def test_bindings_go_into_the_where_clause_not_a_comment_or_string_that_mentions_one(kg: KnowledgeGraph) -> None:
    query = '''# the rules of one action; WHERE { would open the clause here, were this not a comment
SELECT ?rule ?note WHERE {
  BIND ("where { inside a string }" AS ?note)
  ?rule fkg:action ?action }'''
    rows = kg.select(query, action="A16")
    assert rows and all(row["note"] == "where { inside a string }" for row in rows)
    assert len(rows) == len(kg.rules_of("A16"))
