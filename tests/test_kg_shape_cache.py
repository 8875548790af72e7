"""A command run on files it validated before skips SHACL (and never imports pySHACL); an edit is checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flexaqa.kg import KnowledgeGraph, ShapeViolationError

LOAD = """import sys
from flexaqa.kg import KnowledgeGraph
KnowledgeGraph.load(sys.argv[1])
print("pyshacl" in sys.modules)"""


def _load_in_a_fresh_process(root: Path, cache: Path) -> bool:
    """Whether loading ``root`` in a new interpreter imported pySHACL."""
    out = subprocess.run([sys.executable, "-c", LOAD, str(root)], capture_output=True, text=True, check=True,
                         env={"FLEXAQA_CACHE_DIR": str(cache), "PATH": "/usr/bin:/bin"},
                         cwd=Path(__file__).resolve().parents[1])
    return out.stdout.strip() == "True"


def test_files_validated_once_are_not_validated_again(ontology_copy: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert _load_in_a_fresh_process(ontology_copy, cache)
    assert list((cache / "shapes-passed").iterdir())
    assert not _load_in_a_fresh_process(ontology_copy, cache)


def test_an_edit_after_a_remembered_pass_is_still_checked(ontology_copy: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEXAQA_CACHE_DIR", str(tmp_path / "cache"))
    KnowledgeGraph.load(ontology_copy)
    squat = next(ontology_copy.glob("actions/A16_*.ttl"))
    squat.write_text(squat.read_text().replace("fkg:weight 9", "fkg:weight 99", 1))
    with pytest.raises(ShapeViolationError, match="A16_"):
        KnowledgeGraph.load(ontology_copy)


def test_an_unwritable_cache_folder_only_means_validating_every_time(ontology_copy: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("FLEXAQA_CACHE_DIR", str(blocker))
    assert KnowledgeGraph.load(ontology_copy).version == KnowledgeGraph.load(ontology_copy).version
