"""Smoke test of an installed wheel, run by CI from a clean venv outside the checkout.

It runs in a folder with its own ``api/`` and ``models/`` packages, as most projects have, to show that the
installed ``flexaqa`` namespace is what Python imports: assess the bundled example, run one SPARQL query,
start ``flexaqa serve`` on a free port and ask ``/healthz``. The venv holds the base install and [serve]
only, so the model-on default must say in one line which extra it needs and score by the rules.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import IO

FLEXAQA = [sys.executable, "-m", "flexaqa"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*FLEXAQA, *args], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        sys.exit(f"smoke: flexaqa {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        here = Path(tmp)
        for shadow in ("api", "models", "kg"):  # a user's own packages must not shadow flexaqa's
            (here / shadow).mkdir()
            (here / shadow / "__init__.py").write_text("raise ImportError('the user package was imported')\n")
        os.chdir(here)
        print(run("--version").stdout.strip())
        assessed = run("assess", "--format", "json")
        report = json.loads(assessed.stdout)
        assert 0 <= report["score"] <= 100, report
        assert "[model] extra" in assessed.stderr and len(assessed.stderr.strip().splitlines()) == 1, assessed.stderr
        print(f"assess: score {report['score']:.1f}; {assessed.stderr.strip()}")
        rows = run("sparql", "SELECT (COUNT(?a) AS ?n) WHERE { ?a a fkg:Action }").stdout
        assert "20" in rows, rows
        print("sparql: 20 actions")
        with tempfile.TemporaryFile("w+") as out:
            server = subprocess.Popen([*FLEXAQA, "serve", "--port", "0"], stdout=out, stderr=subprocess.STDOUT,
                                      text=True)
            try:
                deadline = time.monotonic() + 60
                while (url := re.search(r"http://127\.0\.0\.1:\d+", _read(out))) is None:
                    if server.poll() is not None or time.monotonic() > deadline:
                        sys.exit(f"smoke: flexaqa serve did not say its address:\n{_read(out)}")
                    time.sleep(0.2)
                health = _get(url.group(0) + "/healthz", deadline)
                assert health == {"status": "ok"}, health
                print(f"serve: {url.group(0)}/healthz ok")
            finally:
                server.terminate()
                server.wait(timeout=30)


def _read(out: IO[str]) -> str:
    out.seek(0)
    return out.read()


def _get(url: str, deadline: float) -> dict:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return json.load(answer)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


if __name__ == "__main__":
    main()
