"""``flexaqa synth`` and ``flexaqa eval detectors``, run as a user runs them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


def test_eval_detectors_with_a_parse_cache_gives_the_same_table_from_the_cache(tmp_path: Path, flexaqa):
    data, cache = tmp_path / "synth", tmp_path / "cache"
    made = flexaqa("synth", "--out", str(data), "--per-action", "3", "--seed", "5", "--actions", "A16,A04")
    assert made.returncode == 0, made.stderr
    plain = flexaqa("eval", "detectors", str(data))
    first = flexaqa("eval", "detectors", str(data), "--cache", str(cache))
    assert plain.returncode == first.returncode == 0, first.stderr
    assert len(list(cache.rglob("EMG.csv.*.npy"))) == len(list(cache.rglob("skeleton_points.csv.*.npy"))) == 6
    for table in data.rglob("*.csv"):  # junk of the same size and time: only the cache can still answer
        info = table.stat()
        table.write_bytes(b"x" * info.st_size)
        os.utime(table, ns=(info.st_atime_ns, info.st_mtime_ns))
    second = flexaqa("eval", "detectors", str(data), "--cache", str(cache))
    assert second.returncode == 0, second.stderr
    assert plain.stdout == first.stdout == second.stdout
    assert plain.stdout.splitlines()[-1].startswith("all")


def one_line_error(run: subprocess.CompletedProcess[str]) -> str:
    """The complaint of a failed command: exit 1, no traceback, one line on stderr."""
    assert run.returncode == 1, (run.returncode, run.stderr)
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr
    return run.stderr.strip()


def usage_error(run: subprocess.CompletedProcess[str]) -> str:
    """argparse's complaint about an option: its usage, then one line naming the option; no traceback."""
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert "Traceback" not in run.stderr, run.stderr
    return run.stderr.strip().splitlines()[-1]


def test_synth_into_an_existing_file_names_the_file(tmp_path: Path, flexaqa) -> None:
    target = tmp_path / "taken.txt"
    target.write_text("not a folder")
    line = one_line_error(flexaqa("synth", "--out", str(target), "--actions", "A16", "--per-action", "1"))
    assert f"{target}: exists and is not a folder" in line
    assert target.read_text() == "not a folder"


@pytest.mark.parametrize(("option", "value", "allowed"), [
    ("--per-action", "0", "1-10000"), ("--per-action", "-1", "1-10000"), ("--per-action", "lots", "integer"),
    ("--error-rate", "2", "0-1"), ("--error-rate", "-0.1", "0-1"), ("--error-rate", "nan", "0-1"),
    ("--seed", "-3", "0 or more"), ("--views", "4", "choose from"),
])
def test_synth_option_out_of_range_names_the_option_and_the_range(tmp_path: Path, flexaqa, option: str,
                                                                   value: str, allowed: str) -> None:
    line = usage_error(flexaqa("synth", "--out", str(tmp_path / "data"), option, value))
    assert f"argument {option}" in line and allowed in line, line
    assert not (tmp_path / "data").exists()


def test_synth_help_shows_the_allowed_ranges(flexaqa) -> None:
    text = flexaqa("synth", "--help").stdout
    assert "1-10000" in text and "0-1" in text


@pytest.mark.parametrize(("labels", "problem"), [
    ("{not json", "not JSON"),
    ('{"format_version": 1, "fps": 30}', "kg_version: field required"),
    ('{"format_version": 9}', "format_version: 9 is not supported"),
    (None, "missing"),
])
def test_eval_detectors_on_bad_labels_names_the_file_and_the_problem(tmp_path: Path, flexaqa, labels: str | None,
                                                                      problem: str) -> None:
    if labels is not None:
        (tmp_path / "labels.json").write_text(labels)
    line = one_line_error(flexaqa("eval", "detectors", str(tmp_path)))
    assert f"{tmp_path / 'labels.json'}: {problem}" in line, line
