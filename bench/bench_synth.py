"""Benchmark the synthetic generator: write N repetitions of every action in the FLEX layout.

Run: python bench/bench_synth.py [--per-action 50] [--seed 0]. One run (minutes at the default): the
time includes the one-off search for each rule's smallest injectable change, which the per-rep figure
also carries. Prints a table.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from flexaqa.kg import KnowledgeGraph
from flexaqa.synth.generate import Options, generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-action", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    kg = KnowledgeGraph.load()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        labels = generate(kg, Path(tmp), Options(per_action=args.per_action, seed=args.seed))
        seconds = time.perf_counter() - start
        size_mb = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file()) / 1e6
    reps = len(labels.samples)
    rows = [
        (f"{len(kg.actions)} actions x {args.per_action} reps, written", f"{seconds:.1f} s"),
        ("per repetition", f"{1000 * seconds / reps:.0f} ms"),
        ("injected errors", str(sum(len(s.errors) for s in labels.samples))),
        ("on disk", f"{size_mb:.0f} MB"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'step':<{width}}  {'value':>10}")
    print(f"{'-' * width}  {'-' * 10}")
    for name, value in rows:
        print(f"{name:<{width}}  {value:>10}")


if __name__ == "__main__":
    main()
