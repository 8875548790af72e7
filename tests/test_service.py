"""The HTTP service, end to end: a real ``flexaqa serve`` on loopback, spoken to over HTTP with httpx."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable
from pathlib import Path

import anyio
import httpx
import numpy as np
import pytest
import rdflib
import schemathesis
from conftest import EXAMPLE, running_server
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from flexaqa.api.service.errors import ServiceError
from flexaqa.api.service.limits import WorkLimiter
from flexaqa.clips.files import save_bundle
from flexaqa.kg import KnowledgeGraph
from flexaqa.synth.generate import synthetic_set

SELECT_ACTIONS = "SELECT ?a ?l WHERE { ?a a fkg:Action ; rdfs:label ?l FILTER(LANG(?l)='en') } ORDER BY ?a"


@pytest.fixture(scope="module")
def synthetic_clip(kg: KnowledgeGraph):  # a clips.clip.Clip
    """One clean synthetic squat (skeleton + sEMG)."""
    return synthetic_set(kg, "A16", [[]], seed=1)


def _squat_json(clip, positions: np.ndarray | None = None) -> bytes:
    body = {"action": clip.action,
            "skeleton": {"positions": (clip.skeleton.positions if positions is None else positions).tolist(),
                         "fps": clip.skeleton.fps, "layout": clip.skeleton.layout}}
    if clip.emg is not None:
        body["emg"] = {"samples": clip.emg.samples.tolist(), "sampling_rate": clip.emg.sampling_rate,
                       "channels": list(clip.emg.channel_names)}
    return json.dumps(body).encode()


# ---------------------------------------------------------------------- health and docs


def test_healthz_and_readyz_name_the_graph_in_force(http: httpx.Client, kg: KnowledgeGraph) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz").json()
    assert ready["kg_version"] == kg.version and ready["rules"] == len(kg.rules)


def test_readyz_says_whether_sparql_workers_are_cut_off_from_the_network(http: httpx.Client) -> None:
    isolation = http.get("/readyz").json()["sparql_isolation"]
    assert isolation is None or isolation.startswith(("the OS refused", "network namespaces are a Linux"))


def test_openapi_manual_is_served(http: httpx.Client) -> None:
    schema = http.get("/openapi.json").json()
    assert schema["info"]["title"] == "flexaqa"
    assert {"AssessRequest", "AssessUpload", "Assessment", "Problem"} <= set(schema["components"]["schemas"])
    assert http.get("/docs").status_code == 200


# ---------------------------------------------------------------------- assess


def test_bundle_upload_scores_like_the_command_line(http: httpx.Client, flexaqa: Callable) -> None:
    cli = flexaqa("assess", "--format", "json")
    assert cli.returncode == 0, cli.stderr
    with EXAMPLE.open("rb") as handle:
        r = http.post("/assess", files={"bundle": ("set.npz", handle, "application/octet-stream")})
    assert r.status_code == 200, r.text
    assert r.json()["score"] == json.loads(cli.stdout)["score"]
    assert r.json()["repetitions"]


def test_json_clip_is_assessed(http: httpx.Client, synthetic_clip) -> None:
    r = http.post("/assess", content=_squat_json(synthetic_clip), headers={"content-type": "application/json"},
                  params={"lang": "zh"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["action"] == "A16" and report["lang"] == "zh" and 0 <= report["score"] <= 100


def test_bundle_of_a_json_clip_scores_the_same(http: httpx.Client, synthetic_clip, tmp_path: Path) -> None:
    save_bundle(tmp_path / "rep.npz", synthetic_clip)
    via_json = http.post("/assess", content=_squat_json(synthetic_clip), headers={"content-type": "application/json"})
    via_file = http.post("/assess", files={"bundle": ("rep.npz", (tmp_path / "rep.npz").read_bytes())})
    assert via_json.status_code == via_file.status_code == 200
    assert via_file.json()["score"] == pytest.approx(via_json.json()["score"], abs=0.5)  # bundles store float32


def test_min_confidence_is_a_query_parameter_as_on_the_command_line(http: httpx.Client, synthetic_clip) -> None:
    """A 2D view's report says the keypoint cut it used: the layout's own unless ``?min_confidence`` sets it."""
    side_view = np.array(synthetic_clip.skeleton.positions)[..., :2]
    body = _squat_json(synthetic_clip, side_view)
    json_body = {"content": body, "headers": {"content-type": "application/json"}}
    own = http.post("/assess", **json_body)
    cut = http.post("/assess", params={"min_confidence": 0.4}, **json_body)
    assert own.status_code == cut.status_code == 200, own.text + cut.text
    assert own.json()["view"]["min_confidence"] != 0.4 and cut.json()["view"]["min_confidence"] == 0.4
    refused = http.post("/assess", params={"min_confidence": 1.5}, **json_body)
    assert refused.status_code == 422 and "min_confidence" in refused.text


def test_half_missing_joint_is_422_naming_positions(http: httpx.Client, synthetic_clip) -> None:
    positions = np.array(synthetic_clip.skeleton.positions)
    positions[3, 5, 1] = np.nan
    r = http.post("/assess", content=_squat_json(synthetic_clip, positions),
                  headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["field"] == "skeleton.positions" and "NaN" in r.json()["detail"]


def test_missing_fps_is_422_naming_the_field(http: httpx.Client) -> None:
    r = http.post("/assess", json={"action": "A16", "skeleton": {"positions": [[[0, 0, 0]] * 21] * 2}})
    assert r.status_code == 422 and r.json()["field"] == "skeleton.fps"


def test_unknown_action_is_422_listing_known_ones(http: httpx.Client) -> None:
    r = http.post("/assess", json={"action": "A99", "skeleton": {"positions": [[[0, 0, 0]] * 21] * 2, "fps": 30}})
    assert r.status_code == 422 and r.json()["field"] == "action"
    assert "unknown action 'A99'" in r.json()["detail"] and "A16" in r.json()["detail"]


def test_bundle_with_other_action_named_is_refused(http: httpx.Client) -> None:
    r = http.post("/assess", files={"bundle": ("set.npz", EXAMPLE.read_bytes())}, data={"action": "A01"})
    assert r.status_code == 422 and "A16" in r.json()["detail"]


def test_unknown_language_is_422_listing_languages(http: httpx.Client) -> None:
    r = http.post("/assess", params={"lang": "fr"}, files={"bundle": ("set.npz", EXAMPLE.read_bytes())})
    assert r.status_code == 422 and r.json()["field"] == "query.lang" and "en, zh" in r.json()["detail"]


def test_truncated_bundle_file_is_422(http: httpx.Client) -> None:
    r = http.post("/assess", files={"bundle": ("set.npz", EXAMPLE.read_bytes()[:2000])})
    assert r.status_code == 422 and r.json()["field"] == "bundle" and "/tmp" not in r.json()["detail"]


def test_truncated_multipart_body_is_4xx(http: httpx.Client) -> None:
    body = b'--xyz\r\nContent-Disposition: form-data; name="bundle"; filename="a.npz"\r\n\r\nPK\x03'
    r = http.post("/assess", content=body, headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert 400 <= r.status_code < 500, r.text


def test_multipart_without_boundary_is_4xx(http: httpx.Client) -> None:
    r = http.post("/assess", content=b"garbage", headers={"content-type": "multipart/form-data"})
    assert 400 <= r.status_code < 500, r.text


def test_malformed_json_is_422(http: httpx.Client) -> None:
    r = http.post("/assess", content=b'{"action": "A16", "skel', headers={"content-type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["detail"]


def test_other_content_type_is_415(http: httpx.Client) -> None:
    r = http.post("/assess", content=b"hello", headers={"content-type": "text/plain"})
    assert r.status_code == 415 and r.json()["field"] == "content-type"


@pytest.mark.parametrize(("path", "media_type"), [("/assess", "application/json"),
                                                  ("/sparql", "application/sparql-query")])
def test_text_in_another_charset_than_utf8_is_415(http: httpx.Client, path: str, media_type: str) -> None:
    r = http.post(path, content="{}".encode("utf-16"), headers={"content-type": f"{media_type}; charset=UTF-16"})
    assert r.status_code == 415 and r.json()["detail"] == f"{media_type} is read as UTF-8, not UTF-16"


def test_oversized_body_is_413(server: str) -> None:
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(b"POST /assess HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100000000\r\n\r\n{")
        assert conn.recv(200).startswith(b"HTTP/1.1 413")


def test_limiter_refuses_when_slots_and_queue_are_full() -> None:
    async def scenario() -> int:
        limiter = WorkLimiter(slots=1, queue=0, retry_after_s=3)
        async with limiter.slot():
            try:
                async with limiter.slot():
                    return 200
            except ServiceError as exc:
                assert exc.headers == {"Retry-After": "3"}
                return exc.status

    assert anyio.run(scenario) == 503


# ---------------------------------------------------------------------- sparql


def test_sparql_get_answers_json_by_default(http: httpx.Client) -> None:
    r = http.get("/sparql", params={"query": SELECT_ACTIONS})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/sparql-results+json")
    assert len(r.json()["results"]["bindings"]) == 20


def test_sparql_get_answers_csv_when_asked(http: httpx.Client) -> None:
    r = http.get("/sparql", params={"query": SELECT_ACTIONS}, headers={"accept": "text/csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.text.splitlines()[0] == "a,l" and len(r.text.splitlines()) == 21


def test_sparql_post_form(http: httpx.Client) -> None:
    r = http.post("/sparql", data={"query": SELECT_ACTIONS}, headers={"accept": "text/tab-separated-values"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/tab-separated-values")


def test_sparql_post_query_body(http: httpx.Client) -> None:
    r = http.post("/sparql", content=SELECT_ACTIONS.encode(), headers={"content-type": "application/sparql-query"})
    assert r.status_code == 200 and len(r.json()["results"]["bindings"]) == 20


def test_sparql_xml_when_asked(http: httpx.Client) -> None:
    r = http.get("/sparql", params={"query": "ASK { ?a a fkg:Action }"},
                 headers={"accept": "application/sparql-results+xml"})
    assert r.status_code == 200 and "<boolean>true</boolean>" in r.text


def test_sparql_construct_as_turtle(http: httpx.Client) -> None:
    q = "CONSTRUCT { ?a rdfs:label ?l } WHERE { ?a a fkg:Action ; rdfs:label ?l }"
    r = http.get("/sparql", params={"query": q}, headers={"accept": "text/turtle, application/sparql-results+json"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    assert "Barbell back squat" in r.text


def test_sparql_shipped_query_with_bindings(http: httpx.Client) -> None:
    r = http.get("/sparql", params={"query": "errors_in_phase", "bind": ["action=A16", "phase=Eccentric",
                                                                           "lang=en"]})
    assert r.status_code == 200 and r.json()["results"]["bindings"]


def test_sparql_put_is_405(http: httpx.Client) -> None:
    r = http.put("/sparql", content=b"x")
    assert r.status_code == 405 and set(r.headers["allow"].split(", ")) == {"GET", "POST"}


def test_sparql_unacceptable_format_is_406(http: httpx.Client) -> None:
    r = http.get("/sparql", params={"query": SELECT_ACTIONS}, headers={"accept": "image/png"})
    assert r.status_code == 406
    r = http.get("/sparql", params={"query": SELECT_ACTIONS}, headers={"accept": "text/turtle"})
    assert r.status_code == 406 and "result table" in r.json()["detail"]


def test_sparql_post_other_content_type_is_415(http: httpx.Client) -> None:
    r = http.post("/sparql", content=SELECT_ACTIONS.encode(), headers={"content-type": "text/plain"})
    assert r.status_code == 415


def test_sparql_missing_or_bad_query_is_400(http: httpx.Client) -> None:
    assert http.get("/sparql").status_code == 400
    r = http.get("/sparql", params={"query": "SELECT ?a WHERE { ?a fkg:nope }"})
    assert r.status_code == 400 and "bad query" in r.json()["detail"]


def test_sparql_service_is_refused_without_a_connection(http: httpx.Client) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        r = http.get("/sparql", params={"query": f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> "
                                                  "{ ?s ?p ?o } }"})
        assert r.status_code == 400 and "SERVICE" in r.json()["detail"]
        with pytest.raises(TimeoutError):
            listener.accept()


def test_sparql_update_is_refused_as_read_only(http: httpx.Client) -> None:
    r = http.post("/sparql", data={"query": "INSERT DATA { fkg:A16 rdfs:label 'x' }"})
    assert r.status_code == 400 and "read-only" in r.json()["detail"]


# ---------------------------------------------------------------------- graph


def test_actions_are_listed_in_the_language_asked(http: httpx.Client) -> None:
    actions = {a["id"]: a for a in http.get("/actions", params={"lang": "zh"}).json()}
    assert len(actions) == 20 and actions["A16"]["label"] == "杠铃后蹲"


def test_action_lists_key_steps_in_order_and_rules(http: httpx.Client, kg: KnowledgeGraph) -> None:
    a16 = http.get("/actions/A16").json()
    assert [s["id"] for s in a16["key_steps"]] == [s.id for s in kg.key_steps_of("A16")]
    assert a16["key_steps"][0]["phase"] == "Preparation"
    assert sum(r["weight"] for r in a16["rules"]) == pytest.approx(a16["w_max"])
    assert all(r["error_type"].startswith("ET") and r["cue"] for r in a16["rules"])


def test_error_type_has_cue_and_explanation(http: httpx.Client) -> None:
    et = http.get("/errors/ET053", params={"lang": "en"}).json()
    assert et["label"] == "Bar sits on the neck" and et["cue"] and et["explanation"]


def test_unknown_ids_are_404(http: httpx.Client) -> None:
    assert http.get("/actions/A99").status_code == 404
    r = http.get("/errors/ET999")
    assert r.status_code == 404 and "ET999" in r.json()["detail"]


# ---------------------------------------------------------------------- rules (edits: tests/test_service_rules.py)


def test_rule_editing_is_off_without_a_token(http: httpx.Client) -> None:
    rel = "actions/A16_barbell_back_squat.ttl"
    r = http.get(f"/rules/{rel}")
    assert r.status_code == 200 and r.headers["etag"] and "fkg:" in r.text
    r = http.put(f"/rules/{rel}", content=r.content, headers={"if-match": r.headers["etag"],
                                                              "content-type": "text/turtle"})
    assert r.status_code == 403 and "FLEXAQA_RULES_TOKEN" in r.json()["detail"]


def test_serve_refuses_a_bad_rules_folder_without_a_traceback(flexaqa: Callable, tmp_path: Path) -> None:
    r = flexaqa("serve", "--rules", str(tmp_path / "missing"), "--port", "0")
    assert r.returncode == 1 and "is not a folder" in r.stderr and "Traceback" not in r.stderr


def test_cors_is_off_unless_configured(http: httpx.Client) -> None:
    r = http.get("/readyz", headers={"origin": "https://coach.example"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    r = http.options("/readyz", headers={"origin": "https://coach.example", "access-control-request-method": "GET"})
    assert "access-control-allow-origin" not in r.headers


def test_the_model_speaks_by_default_and_readyz_names_its_checkpoint(http: httpx.Client, synthetic_clip) -> None:
    ready = http.get("/readyz").json()
    assert ready["model_checkpoint"] == "default.pt" and "learned scorer" in ready["scoring"]
    assert "2D keypoints: rules alone" in ready["scoring"]  # the shipped checkpoint's manifest: 3D skeletons
    assert ready["last_rejected_edit"] is None and ready["pid"] > 0
    report = http.post("/assess", content=_squat_json(synthetic_clip), headers={"content-type": "application/json"})
    assert report.status_code == 200, report.text
    assert re.fullmatch(r"rule detectors from Turtle \+ model default\.pt \(trained on KG [0-9a-f]+\)",
                        report.json()["detectors"])


def test_a_service_started_without_the_model_scores_by_the_rules_alone(synthetic_clip) -> None:
    with running_server("--no-model") as base, httpx.Client(base_url=base, timeout=60) as http:
        ready = http.get("/readyz").json()
        assert ready["model_checkpoint"] is None and "rules alone" in ready["scoring"]
        report = http.post("/assess", content=_squat_json(synthetic_clip), headers={"content-type": "application/json"})
        assert report.status_code == 200 and report.json()["detectors"] == "rule detectors from Turtle"


# ---------------------------------------------------------------------- the whole schema, fuzzed

FUZZ_EXAMPLES = 8
"""Requests drawn per operation and mode; about 350 in all, some 30-40 s here."""


def test_no_endpoint_answers_500(server: str) -> None:
    """Schemathesis draws requests from /openapi.json, valid and invalid ones, for every operation: none may
    get a 5xx other than 503 (busy). (Its pytest plugin does not load on pytest 9, so hypothesis drives it.)"""
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        for mode in schemathesis.GenerationMode:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                      database=None)
            def no_server_error(case: schemathesis.Case) -> None:
                response = case.call(timeout=30)
                assert response.status_code < 500 or response.status_code == 503, (
                    f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}")

            try:
                no_server_error()
            except Unsatisfiable:  # an operation without inputs has no invalid request to draw
                assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label


def test_construct_answers_rdf_xml_for_rdflib_clients(http: httpx.Client) -> None:
    r = http.get("/sparql", params={"query": "CONSTRUCT { ?a a fkg:Action } WHERE { ?a a fkg:Action }"},
                 headers={"Accept": "application/rdf+xml"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/rdf+xml")
    graph = rdflib.Graph().parse(data=r.text, format="xml")
    assert len(set(graph.subjects(rdflib.RDF.type, rdflib.URIRef("https://w3id.org/flexaqa/fkg#Action")))) == 20


def test_a_recording_longer_than_the_limit_is_413_naming_the_modality() -> None:
    with running_server(env={"FLEXAQA_MAX_CLIP_S": "5"}) as base:
        r = httpx.post(f"{base}/assess", files={"bundle": EXAMPLE.read_bytes()}, timeout=60)
    assert r.status_code == 413 and r.json()["field"] in {"skeleton.positions", "emg.samples"}
    assert "at most 5 s" in r.json()["detail"]


def test_a_wrong_method_on_the_start_page_is_405_naming_the_allowed_ones(http: httpx.Client) -> None:
    r = http.delete("/")
    assert r.status_code == 405 and "GET" in r.headers["allow"]
