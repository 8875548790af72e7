"""flexaqa installs as one namespace with extras: a user's own ``api/`` or ``models/`` never shadows it, and a
part whose extra is missing says so in one line naming the extra."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flexaqa.extras import EXTRAS, MissingExtraError, require


def _flexaqa_without(module: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The command line in a process where ``module`` cannot be imported, as when its extra is not installed."""
    code = ("import sys\n"
            "class Hide:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            f"        if name.partition('.')[0] == {module!r}:\n"
            "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
            "sys.meta_path.insert(0, Hide())\n"
            "from flexaqa.api.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def test_the_namespace_wins_over_a_users_own_packages(tmp_path: Path) -> None:
    for name in ("api", "models", "kg", "engine"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("raise ImportError('the user package was imported')\n")
    out = subprocess.run([sys.executable, "-m", "flexaqa", "--version"], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("flexaqa "), out.stderr


@pytest.mark.parametrize(("module", "args", "extra"), [
    ("torch", ["train", "--default", "--out", "scorer.pt"], "model"),
    ("fastapi", ["serve", "--port", "0"], "serve"),
])
def test_a_command_whose_extra_is_missing_says_which_in_one_line(
        module: str, args: list[str], extra: str, tmp_path: Path) -> None:
    out = _flexaqa_without(module, *args, cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    assert out.stderr.strip().splitlines() == [out.stderr.strip()], out.stderr
    assert f"[{extra}] extra" in out.stderr and f"pip install 'flexaqa[{extra}]'" in out.stderr


def test_assessing_without_the_model_extra_scores_by_the_rules_and_says_so_once(tmp_path: Path) -> None:
    out = _flexaqa_without("torch", "assess", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Score" in out.stdout or "score" in out.stdout
    warnings = [line for line in out.stderr.splitlines() if "[model] extra" in line]
    assert len(warnings) == 1 and "rules only" in warnings[0], out.stderr


def test_require_names_the_first_missing_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(EXTRAS, "model", ("json", "no_such_module_of_flexaqa"))
    with pytest.raises(MissingExtraError, match=r"the scorer needs flexaqa's \[model\] extra "
                                                r"\(no module 'no_such_module_of_flexaqa'\)"):
        require("model", "the scorer")
    require("serve", "the service")  # installed here: nothing raised
