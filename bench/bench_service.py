"""Benchmark the HTTP service end to end: a real ``flexaqa serve`` on loopback, driven with httpx.

Run: python bench/bench_service.py [--requests N]. Prints p50/p99 latency of sequential requests (one
client, keep-alive) after a few warm-up requests: POST /assess of one synthetic squat repetition
(skeleton + sEMG) as an .npz bundle and as JSON, and a shipped SPARQL competency query run by name
(in-process) and as the same text (sandboxed worker). /healthz gives the bare HTTP overhead.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np

from api import core
from clips.files import save_bundle
from kg import queries
from synth.generate import synthetic_set

WARMUP = 5
QUERY = ("errors_in_phase", {"action": "A16", "phase": "Eccentric", "lang": "en"})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port)])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not come up")


def latencies(send: Callable[[], httpx.Response], n: int) -> np.ndarray:
    for _ in range(WARMUP):
        send().raise_for_status()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        response = send()
        times.append(time.perf_counter() - start)
        response.raise_for_status()
    return 1000 * np.array(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    kg = core.load_graph()
    clip = synthetic_set(kg, "A16", [[]], seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rep.npz"
        save_bundle(path, clip)
        bundle = path.read_bytes()
    body = json.dumps({"action": clip.action,
                       "skeleton": {"positions": clip.skeleton.positions.tolist(), "fps": clip.skeleton.fps},
                       "emg": {"samples": clip.emg.samples.tolist(), "sampling_rate": clip.emg.sampling_rate,
                               "channels": list(clip.emg.channel_names)}}).encode()
    name, bindings = QUERY
    binds = [f"{k}={v}" for k, v in bindings.items()]
    text = kg.bind(queries.text(name), **bindings)

    port = free_port()
    proc = start_server(port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            cases = {
                "GET /healthz": lambda: http.get("/healthz"),
                f"POST /assess bundle ({len(bundle) / 1e6:.2f} MB)": lambda: http.post(
                    "/assess", files={"bundle": ("rep.npz", bundle)}),
                f"POST /assess JSON ({len(body) / 1e6:.2f} MB)": lambda: http.post(
                    "/assess", content=body, headers={"content-type": "application/json"}),
                f"GET /sparql {name} (by name, in-process)": lambda: http.get(
                    "/sparql", params={"query": name, "bind": binds}),
                f"GET /sparql {name} (as text, sandboxed)": lambda: http.get("/sparql", params={"query": text}),
            }
            rows = [(label, latencies(send, args.requests)) for label, send in cases.items()]
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    print(f"\nflexaqa service over loopback: {args.requests} sequential requests each, one repetition "
          f"({clip.skeleton.frames} frames, {clip.emg.samples.shape[0]} x {clip.emg.samples.shape[1]} sEMG)\n")
    width = max(len(label) for label, _ in rows)
    print(f"{'request':{width}}  {'p50 ms':>8}  {'p99 ms':>8}")
    for label, ms in rows:
        print(f"{label:{width}}  {np.percentile(ms, 50):8.2f}  {np.percentile(ms, 99):8.2f}")


if __name__ == "__main__":
    main()
