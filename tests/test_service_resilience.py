"""A rules folder in a bad state never stops the service: a real ``flexaqa serve`` on a private copy.

An entry that is no Turtle file of the folder (a link out of it, a loop of links, an unreadable, binary or
vanished file, a pipe) is skipped with its reason and listed in ``/readyz``; the rules, SPARQL and later disk
edits go on working. A folder that disappears makes ``/readyz`` answer 503 naming what is down, and once it is
back the file watcher is started again and edits on disk apply again.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import running_server

from flexaqa.ontology import ONTOLOGY_DIR

LIVENESS_S = 30.0
"""How long a change on disk may take to show before the test calls it lost (a bound, not a speed)."""
SELECT_ACTIONS = "SELECT ?a WHERE { ?a a fkg:Action } LIMIT 3"
STRAY = "notes.ttl"
"""A binary entry that is in the folder before the server starts."""
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"


def copy_ontology(root: Path) -> Path:
    shutil.copytree(ONTOLOGY_DIR, root, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return root


def wait_for(check: Callable[[], object], what: str) -> object:
    """The first truthy result of ``check``, polled until :data:`LIVENESS_S` has passed."""
    deadline = time.monotonic() + LIVENESS_S
    while not (found := check()):
        assert time.monotonic() < deadline, f"after {LIVENESS_S:g} s still not {what}"
        time.sleep(0.05)
    return found


def still_serving(http: httpx.Client, rules_dir: Path) -> None:
    """The rules list, a sandboxed SPARQL query and a later valid edit on disk all still work."""
    r = http.get("/rules")
    assert r.status_code == 200, r.text
    assert all((rules_dir / f["file"]).is_file() for f in r.json())
    r = http.get("/sparql", params={"query": SELECT_ACTIONS})
    assert r.status_code == 200 and len(r.json()["results"]["bindings"]) == 3, r.text
    before = http.get("/readyz").json()["kg_version"]
    with (rules_dir / "errors.ttl").open("a", encoding="utf-8") as f:
        f.write(f"\n# edited on disk at {time.time_ns()}\n")
    wait_for(lambda: http.get("/readyz").json()["kg_version"] != before, "applied the edit on disk")


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_ontology(tmp_path_factory.mktemp("served") / "ontology")
    (root / STRAY).write_bytes(BINARY)
    return root


@pytest.fixture(scope="module")
def http(rules_dir: Path) -> Iterator[httpx.Client]:
    with running_server("--rules", str(rules_dir), "--no-model", log=rules_dir.parent / "server.log") as base, \
            httpx.Client(base_url=base, timeout=60) as client:
        yield client


def link_out(path: Path) -> None:
    """A link to a valid Turtle file outside the folder: its triples must not be served."""
    outside = path.parents[2] / "outside.ttl"
    outside.write_text("@prefix fkg: <https://w3id.org/flexaqa/fkg#> .\nfkg:Leaked fkg:weight 1 .\n", "utf-8")
    path.symlink_to(outside)


def link_loop(path: Path) -> None:
    other = path.with_name("loop-other.ttl")
    path.symlink_to(other.name)
    other.symlink_to(path.name)


def unreadable(path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads a file whatever its mode")
    path.write_text("# no one may read this\n", encoding="utf-8")
    path.chmod(0)


def vanished(path: Path) -> None:
    """A link to a file that is gone: what the reader meets when a listed file is deleted before it is read."""
    path.symlink_to(path.with_name("deleted.ttl").name)


BAD_ENTRIES = {
    "link-out": (link_out, "outside the ontology folder"),
    "link-loop": (link_loop, "leads to itself"),
    "unreadable": (unreadable, "unreadable"),
    "binary": (lambda path: path.write_bytes(BINARY), "not UTF-8 text"),
    "pipe": (lambda path: os.mkfifo(path), "not a regular file"),
    "vanished": (vanished, "gone when read"),
}


def test_an_entry_there_at_start_is_skipped(http: httpx.Client) -> None:
    r = http.get("/readyz")
    assert r.status_code == 200 and r.json()["state"] == "ready", r.text
    assert "not UTF-8 text" in r.json()["skipped_files"][STRAY]
    assert STRAY not in {f["file"] for f in http.get("/rules").json()}


@pytest.mark.parametrize("kind", BAD_ENTRIES)
def test_a_bad_entry_is_skipped_and_everything_else_goes_on(http: httpx.Client, rules_dir: Path, kind: str) -> None:
    make, reason = BAD_ENTRIES[kind]
    rel = f"actions/{kind}.ttl"
    path = rules_dir / rel
    make(path)
    try:
        skipped = wait_for(lambda: http.get("/readyz").json()["skipped_files"].get(rel), f"skipping {rel}")
        assert reason in skipped
        still_serving(http, rules_dir)
        ready = http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["down"] == {}, ready.text
        assert rel in ready.json()["skipped_files"] and rel not in {f["file"] for f in http.get("/rules").json()}
        assert 400 <= http.get(f"/rules/{rel}").status_code < 500
        assert http.post("/sparql", data={"query": "ASK { ?s ?p fkg:Leaked }"}).json()["boolean"] is False
    finally:
        for entry in path.parent.glob(f"{kind}*.ttl"):
            entry.unlink()
        for entry in path.parent.glob("loop-other.ttl"):
            entry.unlink()
    wait_for(lambda: rel not in http.get("/readyz").json()["skipped_files"], f"forgetting {rel}")


def test_a_folder_that_goes_away_is_503_until_it_is_back_and_watched_again(tmp_path: Path) -> None:
    root = copy_ontology(tmp_path / "ontology")
    with running_server("--rules", str(root), "--no-model", log=tmp_path / "server.log") as base, \
            httpx.Client(base_url=base, timeout=60) as http:
        assert http.get("/readyz").status_code == 200
        shutil.rmtree(root)
        down = wait_for(lambda: (r := http.get("/readyz")).status_code == 503 and r.json(), "503 without the folder")
        assert down["state"] == "unready" and down["status"] == 503 and "rules folder" in down["down"], down
        assert wait_for(lambda: "file watcher" in http.get("/readyz").json()["down"], "naming the watcher down")
        r = http.get("/rules")
        assert r.status_code == 503 and r.json()["field"] == "file", r.text
        r = http.get("/sparql", params={"query": SELECT_ACTIONS})
        assert r.status_code == 200, r.text

        copy_ontology(root)
        ready = wait_for(lambda: (r := http.get("/readyz")).status_code == 200 and r.json(), "ready again")
        assert ready["state"] == "ready" and ready["down"] == {}
        still_serving(http, root)
