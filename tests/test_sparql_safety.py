"""The query layer every front end shares is read-only, offline and bounded, and says what was wrong."""

from __future__ import annotations

import multiprocessing
import socket
import threading
import time
from collections.abc import Iterator

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flexaqa.kg import KnowledgeGraph
from flexaqa.kg.errors import QueryError, QueryLimitError, QueryRefusedError
from flexaqa.kg.guard import screen
from flexaqa.kg.namespace import PREFIXES
from flexaqa.kg.sandbox import QuerySandbox
from flexaqa.kg.sparql import QueryService, parse_binding, resolve

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

    def settled(self) -> int:
        """The connections made so far. A client that has seen its connection closed is already counted
        (the count goes up before the close), so after a query returns this is exact without waiting."""
        return self.connections

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
        screen(update)


def test_keywords_inside_strings_iris_names_and_comments_are_not_mistaken_for_updates() -> None:
    screen('SELECT ?load ?service WHERE { ?load rdfs:label "insert service drop" ; '
          '<http://example.org/delete> fkg:load . } # LOAD later')


def test_deep_nesting_is_refused_before_parsing(flexaqa) -> None:
    out = flexaqa("sparql", "SELECT * WHERE " + "{" * 3000 + "}" * 3000)
    assert out.returncode == 1 and "nests brackets" in out.stderr


@pytest.mark.parametrize("hide", ["# c\r", "BIND('''x\\'''' AS ?z) ", "OPTIONAL { ex:a\\#x ?p ?o } "])
def test_nesting_hidden_from_a_lexer_is_measured_on_the_parse(
        hide: str, kg: KnowledgeGraph, service: QueryService) -> None:
    query = "PREFIX ex: <http://e/> SELECT * WHERE { " + hide + "{" * 3000 + "?s ?p ?o" + "}" * 3000 + " }"
    with pytest.raises(QueryError, match="nests brackets|bad query"):
        service.answer(kg, resolve(query))
    columns, rows = service.rows(kg, resolve("SELECT (COUNT(?a) AS ?n) WHERE { ?a a fkg:Action }"))
    assert rows == [{"n": 20}]  # the worker that parsed it is alive


def test_overlong_queries_are_refused() -> None:
    with pytest.raises(QueryRefusedError, match="characters long"):
        screen("SELECT * WHERE { ?s ?p ?o } #" + "x" * 30_000)


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


# SERVICE hidden from a text lexer: the query must be judged on its parse, and the worker must have no network.

BYPASSES = {
    "a comment ended by a carriage return": "SELECT * WHERE {{ # c\rSERVICE <{url}> {{ ?s ?p ?o }} }}",
    "an escaped quote in a long string": "SELECT * WHERE {{ BIND('''x\\'''' AS ?z) SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "an escaped # in a prefixed name": "PREFIX ex: <http://e/> SELECT * WHERE {{ OPTIONAL {{ ex:a\\#x ?p ?o }} "
                                       "SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "an escaped quote in a prefixed name": "PREFIX ex: <http://e/> SELECT * WHERE {{ OPTIONAL {{ ?s ?p ex:a\\'x }} "
                                           "SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}",
}


def _unguarded(query: str) -> None:
    """Evaluate ``query`` as pyoxigraph would without flexaqa's guard: the oracle of what it contacts."""
    try:
        result = ox.Store().query(query)
        if not isinstance(result, ox.QueryBoolean):
            list(result)
    except (SyntaxError, OSError, ValueError, RuntimeError):
        pass


@pytest.fixture
def listener() -> Iterator[Listener]:
    port = Listener()
    yield port
    port.close()


@pytest.mark.parametrize("trick", list(BYPASSES), ids=list(BYPASSES))
def test_service_hidden_from_a_lexer_is_refused_on_its_parse(
        trick: str, kg: KnowledgeGraph, service: QueryService, listener: Listener) -> None:
    query = BYPASSES[trick].format(url=f"http://127.0.0.1:{listener.port}/sparql")
    _unguarded(query)
    assert listener.settled() == 1, "the query must really contact the listener when nothing guards it"
    with pytest.raises(QueryError, match="federated|bad query"):  # a text the parser cannot read is refused too
        service.answer(kg, resolve(query))
    assert listener.settled() == 1


_WS = st.sampled_from([" ", "\t", "\n", "\r", "\r\n", " # c\n", " # c\r", " #\r\n"])
_KEYWORD = st.sampled_from(["SERVICE", "service", "SeRvIcE", "SERVICE SILENT", "service\tsilent"])
_VALID = [
    "# SERVICE {url} \n", "# c\r", "# c\r\n", "#\n",
    "BIND('''x\\'''' AS ?a) ", "BIND(\"\"\"y\\\"\"\"\" AS ?b) ", "BIND('\\'' AS ?c) ", "BIND(\"\\\\\" AS ?d) ",
    "BIND('''SERVICE <{url}> {{ }}''' AS ?e) ", "BIND(\"# {{\" AS ?f) ", "BIND('''a\nb''' AS ?g) ",
    "OPTIONAL {{ ex:a\\#x ?p ?o }} ", "OPTIONAL {{ ?s ?p ex:a\\'x }} ", "OPTIONAL {{ ex:b\\\"y ?p ?o }} ",
    "OPTIONAL {{ ?s ex:c\\.d ?o . }} ", "OPTIONAL {{ ex:e\\~f ?p ?o }} ", "OPTIONAL {{ <urn:x#y> ?p ?o }} ",
    "OPTIONAL {{ ?s ?p '''#''' }} ", "BIND(\"\\\"\" AS ?h) ", "OPTIONAL {{ ?s ?p ?o }} ",
]
_STRAY = ["'", "'''", "\"", "\\", "{{", "}}", "<", "#"]
_FRAGMENTS = st.sampled_from(_VALID * 4 + _STRAY)
_HIDE = st.sampled_from(["{}", "{}", "# {}\n", "BIND('''{}''' AS ?q) ", "BIND(\"{}\" AS ?q) ", "BIND('{}' AS ?q) ",
                         "BIND(\"\"\"{}\"\"\" AS ?q) "])
"""Where the clause goes: live (twice as likely), in a comment, or in each kind of string."""


@st.composite
def hidden_service(draw: st.DrawFn, url: str) -> str:
    """A query with a SERVICE clause somewhere among comments, strings, escapes and odd whitespace."""
    before = "".join(draw(st.lists(st.tuples(_FRAGMENTS, _WS).map("".join), max_size=3)))
    after = "".join(draw(st.lists(st.tuples(_WS, _FRAGMENTS).map("".join), max_size=2)))
    ws = [draw(_WS) for _ in range(4)]
    clause = draw(_HIDE).format(f"{draw(_KEYWORD)}{ws[0]}<{url}>{ws[1]}{{{{ ?s ?p ?o }}}}")
    return (f"PREFIX ex: <http://e/>{ws[2]}SELECT * WHERE {{{ws[3]}{before}{clause}{after} }}"
            .replace("{url}", f"<{url}>").replace("{{", "{").replace("}}", "}"))


def test_no_wrapping_of_service_in_comments_strings_escapes_or_whitespace_reaches_the_network(
        listener: Listener) -> None:
    """1000 generated queries, each also evaluated unguarded: every one that would contact the listener is
    refused, and the evaluated text of every one let through contacts nothing."""
    url = f"http://127.0.0.1:{listener.port}/"
    tally = {"refused": 0, "refused, and live unguarded": 0, "accepted": 0}

    @settings(max_examples=1000, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(hidden_service(url))
    def never_connects(query: str) -> None:
        before = listener.settled()
        try:
            evaluated = screen(query)
        except QueryError:
            tally["refused"] += 1
            _unguarded(query)
            tally["refused, and live unguarded"] += listener.settled() > before
            return
        tally["accepted"] += 1
        _unguarded(evaluated)
        assert listener.settled() == before, f"the guard let through a query that contacts {url}: {query!r}"

    never_connects()
    # Both sides of the guard were exercised: live SERVICE clauses refused, hidden ones let through.
    assert tally["refused, and live unguarded"] >= 100 and tally["accepted"] >= 100, tally


@pytest.mark.parametrize("query", [
    "SELECT ?a WHERE { # a comment ended by a carriage return\r?a a fkg:Action }",
    "SELECT ?a WHERE {\r\n?a a fkg:Action .\r\n}",
    "SELECT ?a ?z WHERE { BIND('''SERVICE <http://127.0.0.1:9/> { ?s ?p ?o }\\'''' AS ?z) ?a a fkg:Action }",
    "SELECT ?a WHERE { ?a a fkg:Action . # SERVICE <http://127.0.0.1:9/> { ?s ?p ?o }\n }",
    "PREFIX ex: <http://e/> SELECT ?a WHERE { ?a a fkg:Action . OPTIONAL { ?a ex:b\\#c\\'d ?o } }",
    "SELECT ?a WHERE { ?a a <https://w3id.org/flexaqa/fkg#Action> FILTER(STR(?a) != \"\\\"SERVICE\") }",
])
def test_grammar_valid_queries_without_service_still_answer(
        query: str, kg: KnowledgeGraph, service: QueryService) -> None:
    columns, rows = service.rows(kg, resolve(query))
    assert len(rows) == 20


def test_the_worker_has_no_network_even_for_a_query_that_got_past_the_guard(listener: Listener) -> None:
    """Defence in depth: a worker process cannot open a connection at all, whatever it is asked to run."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        isolation, error = pool.apply(_connect_from_isolated_process, (listener.port,))
    if isolation is not None:
        pytest.skip(f"this OS gives no network namespace: {isolation}")
    assert error is not None and listener.settled() == 0


def _connect_from_isolated_process(port: int) -> tuple[str | None, str | None]:
    from flexaqa.kg.sandbox import _isolate_network

    isolation = _isolate_network()
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError as exc:
        return isolation, exc.strerror or str(exc)
    return isolation, None


def test_the_sandbox_says_whether_its_workers_are_offline() -> None:
    sandbox = QuerySandbox(workers=1)
    try:
        assert sandbox.isolation is None or "network namespace" in sandbox.isolation
    finally:
        sandbox.close()


def test_a_user_query_is_evaluated_once(kg: KnowledgeGraph) -> None:
    from flexaqa.kg.sandbox import _answer, _Request

    class Counting:
        def __init__(self) -> None:
            self.store, self.calls = ox.Store(), 0
            self.store.bulk_load(kg.serialize(ox.RdfFormat.N_TRIPLES), format=ox.RdfFormat.N_TRIPLES)

        def query(self, *args, **kwargs):
            self.calls += 1
            return self.store.query(*args, **kwargs)

    store = Counting()
    for media_type in ("application/sparql-results+json", "text/csv"):
        request = _Request("v", None, "", PREFIXES, media_type, "text/turtle", 100)
        answer = _answer(store, request, "SELECT ?a WHERE { ?a a fkg:Action }")  # type: ignore[arg-type]
        assert answer.count == 20 and answer.media_type.startswith(media_type)
    assert store.calls == 2
