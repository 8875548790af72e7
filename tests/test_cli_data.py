"""``flexaqa synth`` and ``flexaqa eval detectors``, run as a user runs them."""

from __future__ import annotations

import os
from pathlib import Path


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
