"""Shared fixtures: the shipped knowledge graph, a writable copy of the ontology, the real recordings."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kg import KnowledgeGraph
from ontology import ONTOLOGY_DIR

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


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
        return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True, text=True, timeout=300)

    return run
