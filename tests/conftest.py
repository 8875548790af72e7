"""Shared fixtures: the shipped knowledge graph, a writable copy of the ontology, the real recordings."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from flexaqa.kg import KnowledgeGraph, ShapeViolationError
from flexaqa.ontology import ONTOLOGY_DIR

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
EXAMPLE = Path(__file__).resolve().parents[1] / "api" / "examples" / "example_set.npz"
"""The clip bundle that ships with flexaqa."""


def new_error_type(detector: str = "") -> str:
    """Turtle of an error type new to the graph, ET900 "Chest drops at the bottom" (English and Chinese), with
    its feedback and a rule of weight 8 in A16's key step AK46; ``detector`` (Turtle: ``fkg:detector [ ... ]``)
    is the rule's, or it has none and only the model can speak for it."""
    return f'''
@prefix fkg:  <https://w3id.org/flexaqa/fkg#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .

fkg:ET900 a fkg:ErrorType ; rdfs:label "Chest drops at the bottom"@en , "底部塌胸"@zh ;
    fkg:severityClass fkg:CoreStability ; fkg:feedback fkg:FB900 .
fkg:FB900 a fkg:Feedback ;
    fkg:cue "Proud chest all the way down."@en , "下蹲全程挺胸。"@zh ;
    fkg:explanation "Test explanation."@en , "测试说明。"@zh .
fkg:A16_AK46_ET900 a fkg:PenaltyRule ; fkg:action fkg:A16 ; fkg:keyStep fkg:AK46 ; fkg:errorType fkg:ET900 ;
    fkg:weight 8{" ; " + detector if detector else ""} .
'''


def edit(root: Path, rel: str, old: str, new: str, append: str = "") -> None:
    """Replace the one occurrence of ``old`` in a copied Turtle file, and append statements."""
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur once in {rel}"
    path.write_text(text.replace(old, new) + append, encoding="utf-8")


def rejected(root: Path) -> list:
    """The violations that refuse to load the ontology under ``root``."""
    with pytest.raises(ShapeViolationError) as caught:
        KnowledgeGraph.load(root)
    return caught.value.violations


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """SHACL passes are remembered in a folder of this run (the CLIs the tests start inherit it), never the
    user's ``~/.cache``."""
    before = os.environ.get("FLEXAQA_CACHE_DIR")
    os.environ["FLEXAQA_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if before is None:
        del os.environ["FLEXAQA_CACHE_DIR"]
    else:
        os.environ["FLEXAQA_CACHE_DIR"] = before


@pytest.fixture(scope="session")
def kg() -> KnowledgeGraph:
    """The shipped FKG, loaded and validated once per test run."""
    return KnowledgeGraph.load()


@pytest.fixture
def ontology_copy(tmp_path: Path) -> Path:
    """A private, editable copy of the shipped ontology folder."""
    root = tmp_path / "ontology"
    shutil.copytree(ONTOLOGY_DIR, root, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return root


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real recordings beside the checkout; tests that need them skip when they are absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real recordings not found at {SHARED_DATA} (they sit beside the checkout in CI)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def flexaqa() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the ``flexaqa`` command line as a user does: a separate process, output captured as text."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "flexaqa", *args], capture_output=True, text=True, timeout=300)

    return run


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """``flexaqa serve`` on the shipped ontology, with no configuration (a test module may define its own)."""
    with running_server() as base:
        yield base


@pytest.fixture(scope="module")
def http(server: str) -> Iterator[httpx.Client]:
    """A client of this module's ``server``."""
    with httpx.Client(base_url=server, timeout=60) as client:
        yield client


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(*args: str, env: dict[str, str] | None = None, log: Path | None = None) -> Iterator[str]:
    """``flexaqa serve ARGS`` in a subprocess on a free loopback port, yielded once /healthz answers; its
    output (access log included) goes to ``log``, a file, so a chatty server never blocks on a full pipe."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        log = log or Path(tmp) / "server.log"
        with log.open("w") as out:
            proc = subprocess.Popen([sys.executable, "-m", "flexaqa", "serve", "--port", str(port), *args],
                                    stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        try:
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"flexaqa serve exited with {proc.returncode}:\n{log.read_text()}")
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("flexaqa serve did not answer /healthz within 60 s")
                time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
