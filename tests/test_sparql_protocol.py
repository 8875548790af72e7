"""/sparql against the SPARQL 1.1 Protocol: the W3C protocol tests, SPARQLWrapper and rdflib's SPARQLStore.

The W3C tests (``../shared/data/sparql11-protocol/manifest.ttl``, read with rdflib) are run as HTTP
requests against a real ``flexaqa serve`` on loopback, with ``/sparql/`` mapped to ``/sparql``. The
endpoint is read-only and serves one graph, the FKG in force, so not every test applies:

* **skipped** ``update_*`` (update_dataset_default_graph, update_dataset_default_graphs,
  update_dataset_named_graphs, update_dataset_full, update_post_form, update_post_direct,
  update_base_uri): they expect an update to succeed; this endpoint has no update operation (updates
  are refused with 400, see tests/test_service.py).
* **skipped** ``query_dataset_*`` and ``query_multiple_dataset`` (query_dataset_default_graphs_get,
  query_dataset_default_graphs_post, query_dataset_named_graphs_post, query_dataset_named_graphs_get,
  query_dataset_full, query_multiple_dataset): they need data1.nt, data2.nt and data3.nt loaded in the
  store under the graph names the requests give in ``default-graph-uri`` / ``named-graph-uri``; the
  store holds the FKG only.
* **adapted** query_post_form, query_get and query_content_type_* send
  ``default-graph-uri=...data0.rdf`` (a graph no store holds, which their queries do not depend on).
  This endpoint refuses dataset parameters with 400 rather than answer over a dataset it does not
  have; the runner checks that refusal, then runs the request without the parameter and checks the
  test's expectations.
* every ``bad_*`` test (queries and updates) runs as written: each expects a 4xx, which a read-only
  endpoint must give for an update as for a malformed query.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from rdflib import Graph, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, N3, POST, POSTDIRECTLY, TSV, TURTLE, URLENCODED, XML, SPARQLWrapper

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")
CNT = Namespace("http://www.w3.org/2011/content#")
FKG = "https://w3id.org/flexaqa/fkg#"

DATASET_PARAMS = ("default-graph-uri", "named-graph-uri")
SKIPPED = {
    "update": "expects an update to succeed; the endpoint is read-only",
    "query_dataset": "needs data1.nt-data3.nt loaded under the requested graph names; the store holds the FKG only",
    "query_multiple_dataset": "needs data1.nt-data3.nt loaded under the requested graph names",
}
FORMATS = {  # the media types each expected format allows
    "boolean": ("application/sparql-results+json", "application/sparql-results+xml", "application/json",
                "application/xml"),
    "tabular": ("application/sparql-results+json", "application/sparql-results+xml", "application/json",
                "application/xml", "text/csv", "text/tab-separated-values"),
    "RDF": ("text/turtle", "application/n-triples", "application/rdf+xml"),
}
SELECT = f"SELECT ?a ?l WHERE {{ ?a a <{FKG}Action> ; <http://www.w3.org/2000/01/rdf-schema#label> ?l " \
         "FILTER(LANG(?l) = 'en') } ORDER BY ?a"
ASK = f"ASK {{ <{FKG}A16> a <{FKG}Action> }}"
CONSTRUCT = f"CONSTRUCT {{ ?a <http://www.w3.org/2000/01/rdf-schema#label> ?l }} WHERE {{ ?a a <{FKG}Action> ; " \
            "<http://www.w3.org/2000/01/rdf-schema#label> ?l }"
DESCRIBE = f"DESCRIBE <{FKG}A16>"


@dataclass(frozen=True)
class ProtocolRequest:
    method: str
    path: str
    body: bytes | None
    headers: dict[str, str]
    statuses: frozenset[int]  # the first digit of the status codes allowed
    boolean: bool | None
    format: str | None


def _manifest(root: Path) -> list[tuple[str, list[ProtocolRequest]]]:
    """Every test of the manifest in its order: its local name and its requests."""
    graph = Graph().parse(root / "manifest.ttl", format="turtle")
    manifest = next(graph.subjects(RDF.type, MF.Manifest))
    tests = []
    for test in Collection(graph, graph.value(manifest, MF.entries)):
        requests = []
        for req in Collection(graph, graph.value(graph.value(test, MF.action), HT.requests)):
            body = graph.value(req, HT.body)
            data = None
            if body is not None:
                encoding = str(graph.value(body, CNT.characterEncoding) or "UTF-8")
                data = str(graph.value(body, CNT.chars)).encode(encoding)
            headers = {}
            if (listed := graph.value(req, HT.headers)) is not None:
                headers = {str(graph.value(h, HT.fieldName)): str(graph.value(h, HT.fieldValue))
                           for h in Collection(graph, listed)}
            resp = graph.value(req, HT.resp)
            statuses = frozenset(int(str(s).removeprefix(str(HTS)).removeprefix("StatusCode")[0])
                                 for s in graph.objects(resp, MF.expectedStatus))
            boolean = graph.value(resp, MF.expectedBoolean)
            fmt = graph.value(resp, MF.expectedFormat)
            requests.append(ProtocolRequest(
                str(graph.value(req, HT.methodName)), str(graph.value(req, HT.absolutePath)), data, headers, statuses,
                None if boolean is None else bool(boolean.toPython()), None if fmt is None else str(fmt)))
        tests.append((str(test).rsplit("#", 1)[-1], requests))
    return tests


def _without_datasets(request: ProtocolRequest) -> ProtocolRequest | None:
    """The request with dataset parameters removed from its URL and form body (None: it had none)."""
    url = urlsplit(request.path)
    query = [(k, v) for k, v in parse_qsl(url.query) if k not in DATASET_PARAMS]
    body = request.body
    form = request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
    if form and body is not None:
        body = urlencode([(k, v) for k, v in parse_qsl(body.decode()) if k not in DATASET_PARAMS]).encode()
    if len(query) == len(parse_qsl(url.query)) and body == request.body:
        return None
    path = url.path + (f"?{urlencode(query)}" if query else "")
    return ProtocolRequest(request.method, path, body, request.headers, request.statuses, request.boolean,
                           request.format)


def _send(http: httpx.Client, request: ProtocolRequest) -> httpx.Response:
    path = request.path.replace("/sparql/", "/sparql", 1)
    return http.request(request.method, path, content=request.body, headers=request.headers)


def _check(response: httpx.Response, request: ProtocolRequest) -> None:
    assert response.status_code // 100 in request.statuses, (response.status_code, response.text)
    if request.format is not None:
        media = response.headers["content-type"].split(";")[0]
        assert media in FORMATS[request.format], media
    if request.boolean is not None:
        body = response.json() if "json" in response.headers["content-type"] else None
        assert body is not None and body["boolean"] is request.boolean, response.text


def _protocol_tests() -> list:
    root = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sparql11-protocol"
    if not (root / "manifest.ttl").is_file():
        return [pytest.param(None, None, id="manifest-absent",
                             marks=pytest.mark.skip(reason=f"W3C protocol tests not found at {root}"))]
    params = []
    for name, requests in _manifest(root):
        reason = next((why for prefix, why in SKIPPED.items() if name.startswith(prefix)), None)
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        params.append(pytest.param(name, requests, id=name, marks=marks))
    return params


@pytest.mark.parametrize(("name", "requests"), _protocol_tests())
def test_w3c_protocol(http: httpx.Client, name: str, requests: list[ProtocolRequest]) -> None:
    for request in requests:
        adapted = _without_datasets(request) if 2 in request.statuses else None
        if adapted is None:
            _check(_send(http, request), request)
            continue
        refused = _send(http, request)
        assert refused.status_code == 400 and refused.json()["field"] in DATASET_PARAMS, refused.text
        _check(_send(http, adapted), adapted)


def test_manifest_is_read_whole(shared_data: Path) -> None:
    """The runner sees every entry (34 in the 2013 manifest), so no test is dropped silently."""
    tests = _manifest(shared_data / "sparql11-protocol")
    assert len(tests) >= 34 and all(requests for _, requests in tests)


# ---------------------------------------------------------------------- SPARQLWrapper


def _wrapper(server: str, method: str, form: str, query: str, fmt: str) -> SPARQLWrapper:
    client = SPARQLWrapper(f"{server}/sparql")
    client.setMethod(method)
    if method == POST:
        client.setRequestMethod(form)
    client.setQuery(query)
    client.setReturnFormat(fmt)
    return client


REQUEST_FORMS = [("GET", URLENCODED), (POST, URLENCODED), (POST, POSTDIRECTLY)]


@pytest.mark.parametrize(("method", "form"), REQUEST_FORMS, ids=["get", "post-form", "post-direct"])
@pytest.mark.parametrize("fmt", [JSON, XML, CSV, TSV])
def test_sparqlwrapper_select(server: str, method: str, form: str, fmt: str) -> None:
    result = _wrapper(server, method, form, SELECT, fmt).query()
    converted = result.convert()
    if fmt == JSON:
        assert len(converted["results"]["bindings"]) == 20
    elif fmt == XML:
        assert len(converted.getElementsByTagName("result")) == 20
    else:
        lines = converted.decode().strip().splitlines()
        assert len(lines) == 21 and "Barbell back squat" in converted.decode()


@pytest.mark.parametrize(("method", "form"), REQUEST_FORMS, ids=["get", "post-form", "post-direct"])
@pytest.mark.parametrize("fmt", [JSON, XML])
def test_sparqlwrapper_ask(server: str, method: str, form: str, fmt: str) -> None:
    converted = _wrapper(server, method, form, ASK, fmt).query().convert()
    assert (converted["boolean"] if fmt == JSON else
            converted.getElementsByTagName("boolean")[0].firstChild.data == "true") is True


@pytest.mark.parametrize(("method", "form"), REQUEST_FORMS, ids=["get", "post-form", "post-direct"])
@pytest.mark.parametrize("fmt", [TURTLE, N3])
@pytest.mark.parametrize("query", [CONSTRUCT, DESCRIBE], ids=["construct", "describe"])
def test_sparqlwrapper_graph_queries(server: str, method: str, form: str, fmt: str, query: str) -> None:
    converted = _wrapper(server, method, form, query, fmt).query().convert()
    graph = Graph().parse(data=converted, format="turtle")  # N-Triples is Turtle too
    assert (URIRef(f"{FKG}A16"), None, None) in graph


# ---------------------------------------------------------------------- rdflib SPARQLStore


@pytest.mark.parametrize("method", ["GET", "POST", "POST_FORM"])
@pytest.mark.parametrize("fmt", ["xml", "json", "csv", "tsv"])
def test_rdflib_sparqlstore_select(server: str, method: str, fmt: str) -> None:
    graph = Graph(SPARQLStore(f"{server}/sparql", method=method, returnFormat=fmt))
    rows = list(graph.query(SELECT))
    assert len(rows) == 20 and "Barbell back squat" in {str(row[1]) for row in rows}  # CSV/TSV drop the tag


@pytest.mark.parametrize("method", ["GET", "POST", "POST_FORM"])
@pytest.mark.parametrize("fmt", ["xml", "json"])  # CSV and TSV have no boolean form (SPARQL 1.1 CSV/TSV, 1)
def test_rdflib_sparqlstore_ask(server: str, method: str, fmt: str) -> None:
    graph = Graph(SPARQLStore(f"{server}/sparql", method=method, returnFormat=fmt))
    assert graph.query(ASK).askAnswer is True


@pytest.mark.parametrize("method", ["GET", "POST", "POST_FORM"])
@pytest.mark.parametrize("fmt", ["turtle", "nt"])  # rdflib's default, "xml", asks for RDF/XML: not served (406)
@pytest.mark.parametrize("query", [CONSTRUCT, DESCRIBE], ids=["construct", "describe"])
def test_rdflib_sparqlstore_graph_queries(server: str, method: str, fmt: str, query: str) -> None:
    graph = Graph(SPARQLStore(f"{server}/sparql", method=method, returnFormat=fmt))
    built = graph.query(query).graph
    assert (URIRef(f"{FKG}A16"), None, None) in built
