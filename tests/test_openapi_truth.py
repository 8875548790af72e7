"""The OpenAPI schema tells the truth: schemathesis draws requests from a running ``flexaqa serve``'s
/openapi.json and checks every answer against it (status documented, content type, body schema), and every
refusal is RFC 9457 problem details as ``application/problem+json``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import running_server

from flexaqa.ontology import ONTOLOGY_DIR

TOKEN = "openapi-truth"
MAX_BODY_MB = 1
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
MAX_EXAMPLES = 25
"""Cases per operation and phase: about 800 requests, some 30 s here."""
PROBLEM_JSON = "application/problem+json"
RFC_MEMBERS = {"type", "title", "status", "detail", "instance"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service on a private copy of the ontology (the fuzzer may PUT files), with a rules token so that
    edits get past authorisation, and a small body limit so that a 413 is cheap to provoke."""
    root = tmp_path_factory.mktemp("truth") / "ontology"
    shutil.copytree(ONTOLOGY_DIR, root, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    env = {"FLEXAQA_RULES_TOKEN": TOKEN, "FLEXAQA_MAX_BODY_MB": str(MAX_BODY_MB), "FLEXAQA_ACCESS_LOG": "false"}
    with running_server("--rules", str(root), "--no-model", env=env) as base:
        yield base


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(server: str, tmp_path: Path) -> None:
    report, har = tmp_path / "report.json", tmp_path / "requests.har"
    run = subprocess.run(
        [sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()", "run",
         f"{server}/openapi.json", "--checks", CHECKS, "--phases", "examples,coverage,fuzzing,stateful",
         "--max-examples", str(MAX_EXAMPLES), "--seed", "1", "--workers", "1", "--generation-database", "none",
         "--header", f"Authorization: Bearer {TOKEN}", "--request-timeout", "60", "--continue-on-failure",
         "--no-color", "--report", "json,har", "--report-json-path", str(report), "--report-har-path", str(har)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)  # its caches of failures stay out of the checkout
    summary = json.loads(report.read_text())
    statuses = [entry["response"]["status"] for entry in json.loads(har.read_text())["log"]["entries"]]
    assert summary["operations"]["tested"] == summary["operations"]["total"] >= 13, run.stdout[-3000:]
    assert len(statuses) >= 500 and summary["test_cases"]["generated"] >= 500
    assert [s for s in statuses if s >= 500] == [], run.stdout[-3000:]
    assert summary["failures"] == [] and summary["errors"] == [], run.stdout[-6000:]
    assert run.returncode == 0, run.stdout[-3000:]


def test_every_error_is_documented_as_problem_json_and_lang_as_the_graphs_languages(http: httpx.Client) -> None:
    schema = http.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components
    assert RFC_MEMBERS | {"field"} <= set(components["Problem"]["properties"])
    languages = http.get("/readyz").json()["languages"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if int(status) >= 400:
                    assert list(answer["content"]) == [PROBLEM_JSON], (method, path, status)
                    assert answer["content"][PROBLEM_JSON]["schema"]["$ref"].endswith("Problem")  # or a subclass
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "lang":
                    assert parameter["schema"]["enum"] == languages, (method, path)
    rules = schema["paths"]["/rules/{file}"]
    assert "404" in rules["put"]["responses"]
    assert all("pattern" in p["schema"] for op in rules.values() for p in op["parameters"] if p["name"] == "file")


@pytest.mark.parametrize(("method", "path", "options", "status", "field"), [
    ("GET", "/actions", {"params": {"lang": "fr"}}, 422, "query.lang"),
    ("GET", "/rules/..%2Fescape.ttl", {}, 422, "path.file"),
    ("POST", "/assess", {"params": {"explain": "maybe"}, "json": {"action": "A16"}}, 422, "query.explain"),
    ("GET", "/actions/A99", {}, 404, "path"),
    ("GET", "/no/such/route", {}, 404, "path"),
    ("DELETE", "/rules", {}, 405, "method"),
    ("POST", "/assess", {"content": b"0" * (MAX_BODY_MB * 1024 * 1024 + 1),
                         "headers": {"content-type": "application/json"}}, 413, "body"),
])
def test_a_refusal_is_rfc_9457_problem_json(http: httpx.Client, method: str, path: str, options: dict, status: int,
                                           field: str) -> None:
    r = http.request(method, path, **options)
    assert r.status_code == status and r.headers["content-type"] == PROBLEM_JSON, r.text
    body = r.json()
    assert RFC_MEMBERS <= set(body), body
    assert body["type"] == "about:blank" and body["status"] == status and body["title"] == r.reason_phrase
    assert body["instance"] == path and body["field"] == field and body["detail"]
