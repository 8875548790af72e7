"""Benchmark how long ``flexaqa`` takes to start: ``assess --help``, ``assess`` of a 2D CSV and of the bundled
example (3D with sEMG, README's first command; also with ``--report``, the page too), each as run by default
(the learned scorer loaded: torch) and with ``--no-model`` (the rules alone).

Run: python bench/bench_startup.py [--repeat 7] [--action A01] [--imports 8]. Writes one two-second COCO-17
side view (a synthetic repetition, as ``bench_batch.py`` makes them) as a CSV with a confidence column, then
runs each command ``--repeat`` times as a fresh process (after one warm-up run, so the file cache is warm)
and prints the median, minimum and maximum wall-clock seconds, hyperfine-style. A second table, from one
``python -X importtime`` run per command, gives the seconds spent importing and the heaviest imports
(cumulative microseconds as CPython reports them, top-level packages only).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_batch import coco_side_view

from flexaqa.clips.layouts import get_layout
from flexaqa.kg import KnowledgeGraph


def write_csv(frames, path: Path) -> None:
    """(T, 17, 3) x, y, confidence -> ``<joint>_x, <joint>_y, <joint>_v`` columns, as pose tools export."""
    joints = get_layout("COCO-17").joints
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([f"{j}_{axis}" for j in joints for axis in "xyv"])
        for frame in frames:
            writer.writerow([f"{value:.5f}" for point in frame for value in point])


def run(args: list[str], importtime: bool = False) -> subprocess.CompletedProcess:
    flags = ["-X", "importtime"] if importtime else []
    done = subprocess.run([sys.executable, *flags, "-m", "flexaqa", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"flexaqa {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done


def wall_times(args: list[str], repeat: int) -> list[float]:
    run(args)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run(args)
        times.append(time.perf_counter() - start)
    return times


def heaviest_imports(args: list[str], count: int) -> tuple[float, list[tuple[str, float]]]:
    """Seconds of imports in one run, and the ``count`` heaviest top-level packages (seconds, cumulative)."""
    by_package: dict[str, float] = {}
    total = 0.0
    for line in run(args, importtime=True).stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        if not cumulative.strip().isdigit():
            continue
        depth = (len(name) - len(name.lstrip())) // 2
        seconds = int(cumulative) / 1e6
        if depth == 0:
            total += seconds
        root = name.strip().split(".")[0]
        by_package[root] = max(by_package.get(root, 0.0), seconds)
    heavy = sorted(by_package.items(), key=lambda item: -item[1])[:count]
    return total, heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--action", default="A01")
    parser.add_argument("--imports", type=int, default=8, help="heaviest imports listed per command")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "side_view.csv"
        write_csv(coco_side_view(KnowledgeGraph.load(), args.action, seed=0), clip)
        commands = {
            "assess --help": ["assess", "--help"],
            "assess <2D csv>": ["assess", str(clip), "--action", args.action, "--layout", "COCO-17"],
            "assess <2D csv> --no-model": ["assess", str(clip), "--action", args.action, "--layout", "COCO-17",
                                           "--no-model"],
            "assess (bundled example)": ["assess"],
            "assess --no-model (example)": ["assess", "--no-model"],
            "assess --report (example)": ["assess", "--report", str(Path(tmp) / "report.html")],
        }
        print(f"{'command':<28} {'median s':>9} {'min s':>7} {'max s':>7}   ({args.repeat} runs each)")
        for name, command in commands.items():
            times = wall_times(command, args.repeat)
            print(f"{name:<28} {statistics.median(times):>9.3f} {min(times):>7.3f} {max(times):>7.3f}")
        print()
        for name, command in commands.items():
            total, heavy = heaviest_imports(command, args.imports)
            listed = ", ".join(f"{package} {seconds:.2f}" for package, seconds in heavy)
            print(f"{name}: imports {total:.2f} s; heaviest (s): {listed}")


if __name__ == "__main__":
    main()
