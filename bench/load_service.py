"""A bounded load test of POST /assess: many concurrent clients on loopback, then latency, errors and memory.

Run: python bench/load_service.py [--clients 32] [--seconds 60] [--warmup 10] [--workers 1]. Starts
``flexaqa serve`` (its assessment queue sized so that every client may wait rather than be refused),
warms it up with the same load for --warmup seconds, notes the resident memory of the server's process
tree, runs the load for --seconds, and prints requests answered, errors, throughput, p50/p99 latency and
the memory after the run against after warm-up. The load is one synthetic squat repetition (skeleton +
sEMG) as an .npz bundle, each client on its own keep-alive connection (threads with httpx).
Exits 1 on any error or when the memory grew by more than 10 %.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from bench_service import drive, free_port, squat_bundle, start_server

from flexaqa.api import core

MEMORY_GROWTH_LIMIT = 0.10


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (workers, SPARQL sandboxes), from /proc."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(child) for child in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue  # a process that ended meanwhile
    return total / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    _, bundle = squat_bundle(core.load_graph())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(port, args.workers, {"FLEXAQA_ASSESS_QUEUE": str(2 * args.clients)})
    try:
        warm = drive(base, bundle, args.clients, args.warmup)
        rss_warm = tree_rss_mb(proc.pid)
        load = drive(base, bundle, args.clients, args.seconds)
        rss_end = tree_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    growth = rss_end / rss_warm - 1
    errors = sum(load.errors.values()) + sum(warm.errors.values())
    print(f"\nPOST /assess (one repetition, .npz bundle of {len(bundle) / 1e6:.2f} MB), {args.clients} concurrent "
          f"clients, {args.workers} worker(s), {os.cpu_count()} CPUs, after {args.warmup:g} s of warm-up\n")
    rows = [
        ("duration", f"{args.seconds:g} s"),
        ("requests answered", f"{len(load.ms)}"),
        ("errors", f"{errors}" + (f" {dict(load.errors) | dict(warm.errors)}" if errors else "")),
        ("throughput", f"{load.throughput:.1f} req/s"),
        ("latency p50", f"{np.percentile(load.ms, 50):.1f} ms"),
        ("latency p99", f"{np.percentile(load.ms, 99):.1f} ms"),
        ("server RSS after warm-up", f"{rss_warm:.0f} MB"),
        ("server RSS at the end", f"{rss_end:.0f} MB ({growth:+.1%})"),
    ]
    for label, value in rows:
        print(f"{label:26}{value}")
    return 0 if errors == 0 and growth <= MEMORY_GROWTH_LIMIT else 1


if __name__ == "__main__":
    raise SystemExit(main())
