"""The front door: a short README that starts with the two commands, and a manual that builds without a warning."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def first_code_block(text: str) -> list[str]:
    match = re.search(r"```bash\n(.*?)```", text, re.S)
    assert match, "the README has no bash block"
    return match.group(1).strip().splitlines()


def test_the_readme_is_short_and_starts_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 150
    before, _, _ = text.partition("```bash")
    assert [line for line in before.splitlines() if line.strip()] == ["# flexaqa"], "the commands come first"
    assess, test = first_code_block(text)
    for command in (assess, test):
        assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install torch==")
        assert "pip install -e '.[" in command
    assert assess.endswith("&& flexaqa assess")
    assert test.endswith("&& pytest")


def test_every_manual_page_the_readme_links_to_exists() -> None:
    links = re.findall(r"\]\((docs/[^)#]+)", README.read_text(encoding="utf-8"))
    assert links
    assert [link for link in links if not (ROOT / link).is_file()] == []


def test_the_manual_builds_strictly_with_the_settings_table_from_the_code(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install -e '.[docs]')")
    built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
                           cwd=ROOT, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    assert "WARNING" not in built.stderr
    deployment = (tmp_path / "deployment" / "index.html").read_text(encoding="utf-8")
    assert "FLEXAQA_MAX_BUNDLE_MB" in deployment and "&lt;!-- service-settings" not in deployment
    assert "<!-- service-settings" not in deployment
