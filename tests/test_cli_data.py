"""``flexaqa synth`` and ``flexaqa eval detectors``, run as a user runs them."""

from __future__ import annotations

from pathlib import Path


def test_eval_detectors_with_a_parse_cache_gives_the_same_table_and_fills_the_cache(tmp_path: Path, flexaqa):
    data, cache = tmp_path / "synth", tmp_path / "cache"
    made = flexaqa("synth", "--out", str(data), "--per-action", "3", "--seed", "5", "--actions", "A16,A04")
    assert made.returncode == 0, made.stderr
    plain = flexaqa("eval", "detectors", str(data))
    first = flexaqa("eval", "detectors", str(data), "--cache", str(cache))
    second = flexaqa("eval", "detectors", str(data), "--cache", str(cache))
    assert plain.returncode == first.returncode == second.returncode == 0, second.stderr
    assert plain.stdout == first.stdout == second.stdout
    assert plain.stdout.splitlines()[-1].startswith("all")
    assert len(list(cache.rglob("EMG.csv.npy"))) == 6
    assert len(list(cache.rglob("skeleton_points.csv.npy"))) == 6
