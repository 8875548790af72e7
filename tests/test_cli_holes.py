"""Issue 20, item 4: no work lost to a bad output path, no traceback for a full disk or a client that leaves,
no silent start-up, and the small holes, each run as a user meets it: the real ``flexaqa`` process."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import running_server

FLEXAQA = [sys.executable, "-m", "flexaqa"]


def _one_clear_line(out: subprocess.CompletedProcess[str], words: str) -> None:
    assert out.returncode != 0, out.stdout
    assert "Traceback" not in out.stderr, out.stderr
    assert words in out.stderr, out.stderr


def _wait_for(path: Path, pattern: str, limit_s: float = 60) -> re.Match[str]:
    """The first match of ``pattern`` in the file a process writes; a liveness bound, not a timing check."""
    deadline = time.monotonic() + limit_s
    while (found := re.search(pattern, path.read_text())) is None:
        if time.monotonic() > deadline:
            pytest.fail(f"{pattern!r} never appeared in {path}:\n{path.read_text()}")
        time.sleep(0.1)
    return found


# ---------------------------------------------------------------------- output paths checked before any work


@pytest.mark.parametrize(("command", "out", "words"), [
    (["train"], "missing/model.pt", "no such folder"),
    (["train"], ".", "is a folder"),
    (["eval", "compare"], "missing/results.md", "no such folder"),
    (["eval", "compare"], ".", "is a folder"),
])
def test_an_unwritable_out_stops_the_command_before_its_work(tmp_path: Path, flexaqa, command: list[str],
                                                              out: str, words: str) -> None:
    """DATA is an empty folder: were the path checked after the work, the work would fail first, on the data."""
    data = tmp_path / "data"
    data.mkdir()
    result = flexaqa(*command, str(data), "--out", str(tmp_path / out))
    assert result.returncode == 2
    _one_clear_line(result, words)
    assert "argument --out" in result.stderr


# ---------------------------------------------------------------------- a full standard output


@pytest.mark.parametrize("command", [["assess", "--no-model", "--format", "json"], ["kg", "export"]])
def test_a_full_standard_output_is_one_line_not_a_traceback(command: list[str]) -> None:
    with open("/dev/full", "w") as full:
        result = subprocess.run([*FLEXAQA, *command], stdout=full, stderr=subprocess.PIPE, text=True, timeout=300)
    _one_clear_line(result, "cannot write the output: No space left on device")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


# ---------------------------------------------------------------------- a client leaving mid-upload


def test_a_client_leaving_mid_upload_is_logged_as_a_disconnect(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with running_server("--no-model", log=log) as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as raw:
            raw.sendall(b"POST /assess HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 10000000\r\n\r\n" + b'{"action": "A16", "skeleton": [' * 1000)
        line = json.loads(_wait_for(log, r'\{"method": "POST", "path": "/assess".*\}').group(0))
        assert httpx.get(f"{base}/healthz").status_code == 200
    assert line["status"] == 499 and line["error"] == "client disconnected", line
    text = log.read_text()
    assert "Traceback" not in text and "ERROR" not in text, text


def test_a_client_leaving_mid_upload_is_no_traceback_without_the_access_log(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with running_server("--no-model", log=log, env={"FLEXAQA_ACCESS_LOG": "false"}) as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as raw:
            raw.sendall(b"POST /assess HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 10000000\r\n\r\n" + b'{"action": "A16", "skeleton": [' * 1000)
        assert httpx.get(f"{base}/healthz").status_code == 200
        with pytest.raises(pytest.fail.Exception):  # a traceback, were there one, is written within seconds
            _wait_for(log, r"Traceback|ERROR", limit_s=5)


# ---------------------------------------------------------------------- serve says where it is


@pytest.fixture
def served_on_any_port(tmp_path: Path) -> Iterator[Path]:
    """``flexaqa serve --port 0`` with rule editing on; its output file, the process stopped afterwards."""
    log = tmp_path / "serve.out"
    with log.open("w") as out:
        proc = subprocess.Popen([*FLEXAQA, "serve", "--port", "0", "--no-model"], stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "FLEXAQA_RULES_TOKEN": "secret"})
    try:
        yield log
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_prints_its_url_manual_and_rule_editing(served_on_any_port: Path) -> None:
    url = _wait_for(served_on_any_port, r"flexaqa serve: (http://127\.0\.0\.1:(\d+))").group(1)
    assert not url.endswith(":0")
    text = served_on_any_port.read_text()
    assert f"manual: {url}/docs" in text and "rule editing: on" in text, text
    deadline = time.monotonic() + 60
    while True:
        try:
            assert httpx.get(f"{url}/docs", timeout=5).status_code == 200
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# ---------------------------------------------------------------------- the smaller holes


def test_a_missing_folder_is_no_such_file_not_a_missing_action(tmp_path: Path, flexaqa) -> None:
    _one_clear_line(flexaqa("assess", str(tmp_path / "nowhere")), f"no such file or folder: {tmp_path / 'nowhere'}")


def test_a_device_is_not_a_clip_file(flexaqa) -> None:
    for extra in ([], ["--action", "A16"]):
        _one_clear_line(flexaqa("assess", "/dev/zero", *extra), "/dev/zero is not a regular file")


def test_an_unknown_fkg_id_in_bind_names_the_nearest(flexaqa) -> None:
    result = flexaqa("sparql", "action_key_steps", "--bind", "action=A99")
    _one_clear_line(result, "'A99' is no FKG id")
    assert "A19" in result.stderr and "(0 rows)" not in result.stdout


@pytest.mark.parametrize(("actions", "words"), [("", "empty id"), ("A16,A16", "A16 given more than once"),
                                                ("A16,,A17", "empty id")])
def test_synth_actions_must_name_each_action_once(tmp_path: Path, flexaqa, actions: str, words: str) -> None:
    result = flexaqa("synth", "--out", str(tmp_path / "set"), "--per-action", "1", "--actions", actions)
    _one_clear_line(result, words)
    assert not (tmp_path / "set").exists()


def test_a_missing_vocabulary_file_is_named(ontology_copy: Path, flexaqa) -> None:
    (ontology_copy / "fkg.ttl").unlink()
    result = flexaqa("--ontology", str(ontology_copy), "kg", "stats")
    _one_clear_line(result, "has no fkg.ttl")
    assert "violation" not in result.stderr.lower()


def test_rules_check_names_a_file_outside_the_ontology_as_given(tmp_path: Path, flexaqa) -> None:
    stray = tmp_path / "hostname"
    stray.write_text("vm-123\n", encoding="utf-8")
    result = flexaqa("rules", "check", str(stray))
    _one_clear_line(result, f"{stray}:1:")
    assert "actions/hostname" not in result.stderr


def test_train_without_data_is_a_usage_error_before_torch() -> None:
    result = subprocess.run([*FLEXAQA[:1], "-X", "importtime", *FLEXAQA[1:], "train"], capture_output=True,
                            text=True, timeout=300)
    _one_clear_line(result, "give a DATA folder, or --default")
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")]
    assert "flexaqa.api.cli" in imported and not any(m == "torch" or m.startswith("torch.") for m in imported)


def test_an_unknown_flexaqa_variable_is_warned_with_the_nearest_setting() -> None:
    env = {**os.environ, "FLEXAQA_RULE_TOKEN": "secret"}
    result = subprocess.run([*FLEXAQA, "kg", "stats"], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert "FLEXAQA_RULE_TOKEN is no flexaqa setting" in result.stderr
    assert "did you mean FLEXAQA_RULES_TOKEN?" in result.stderr


def test_the_known_variables_say_nothing(ontology_copy: Path) -> None:
    env = {**os.environ, "FLEXAQA_ONTOLOGY": str(ontology_copy), "FLEXAQA_PORT": "8001"}
    result = subprocess.run([*FLEXAQA, "kg", "stats"], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0 and "WARNING" not in result.stderr, result.stderr
