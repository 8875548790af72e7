"""Benchmark the HTTP service end to end: a real ``flexaqa serve`` on loopback, driven with httpx.

Run: python bench/bench_service.py [--requests N] [--clients C --seconds S] [--edits N]. Prints p50/p99 latency of
sequential requests (one client, keep-alive) after a few warm-up requests: POST /assess of one synthetic
squat repetition (skeleton + sEMG) as an .npz bundle and as JSON, and a shipped SPARQL competency query
run by name (in-process) and as the same text (sandboxed worker); /healthz gives the bare HTTP overhead.
Then the throughput of POST /assess (bundle) under C concurrent clients for S seconds with 1 and with 2
server workers, side by side. Last, how soon a rule edit PUT through one of two workers is served by both
(--edits N). bench/load_service.py reuses the pieces for its longer load run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from flexaqa.api import core
from flexaqa.clips.clip import Clip
from flexaqa.clips.files import save_bundle
from flexaqa.kg import KnowledgeGraph, queries
from flexaqa.ontology import ONTOLOGY_DIR
from flexaqa.synth.generate import synthetic_set

WARMUP = 5
QUERY = ("errors_in_phase", {"action": "A16", "phase": "Eccentric", "lang": "en"})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int = 1, env: dict[str, str] | None = None, *args: str) -> subprocess.Popen:
    """``flexaqa serve ARGS`` on loopback with ``workers`` processes, returned once /healthz answers."""
    proc = subprocess.Popen([sys.executable, "-m", "flexaqa", "serve", "--port", str(port), "--workers", str(workers),
                             *args],
                            env={**os.environ, "FLEXAQA_ACCESS_LOG": "false", **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # the tables stay readable
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not come up; run flexaqa serve -v to see why")


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


def squat_bundle(kg: KnowledgeGraph) -> tuple[Clip, bytes]:
    """One clean synthetic squat repetition (skeleton + sEMG) and its .npz bundle bytes."""
    clip = synthetic_set(kg, "A16", [[]], seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rep.npz"
        save_bundle(path, clip)
        return clip, path.read_bytes()


@dataclass
class LoadResult:
    """What concurrent clients saw: latency of each answered request (ms) and the failures by kind."""

    seconds: float
    ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        return len(self.ms) / self.seconds


def drive(base: str, bundle: bytes, clients: int, seconds: float) -> LoadResult:
    """``clients`` threads, each with its own keep-alive connection, POST the bundle to /assess for ``seconds``."""
    result, lock = LoadResult(seconds), threading.Lock()
    stop = time.perf_counter() + seconds

    def client() -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            while time.perf_counter() < stop:
                start = time.perf_counter()
                try:
                    response = http.post("/assess", files={"bundle": ("rep.npz", bundle)})
                    kind = None if response.status_code == 200 else f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    kind = type(exc).__name__
                with lock:
                    if kind is None:
                        result.ms.append(1000 * (time.perf_counter() - start))
                    else:
                        result.errors[kind] = result.errors.get(kind, 0) + 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return result


def propagation(edits: int) -> np.ndarray:
    """Seconds from a PUT's answer until both of two workers serve the edit, for ``edits`` edits of one file in a
    private copy of the ontology. /readyz is polled over fresh connections, which the kernel hands to either worker."""
    token, rel = "bench", "actions/A16_barbell_back_squat.ttl"
    auth = {"authorization": f"Bearer {token}", "content-type": "text/turtle"}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ontology"
        shutil.copytree(ONTOLOGY_DIR, root, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = start_server(port, 2, {"FLEXAQA_RULES_TOKEN": token}, "--rules", str(root), "--no-model")
        try:
            with httpx.Client(base_url=base, timeout=60) as http:
                pids = {httpx.get(f"{base}/readyz").json()["pid"] for _ in range(50)}
                if len(pids) < 2:
                    raise SystemExit("only one worker answered /readyz; the propagation table needs both")
                seconds = []
                for i in range(edits):
                    current = http.get(f"/rules/{rel}")
                    answer = http.put(f"/rules/{rel}", content=(current.text + f"# edit {i}\n").encode(),
                                      headers={**auth, "if-match": current.headers["etag"]})
                    done = time.perf_counter()
                    answer.raise_for_status()
                    version, serving = answer.json()["kg_version"], set()
                    while serving != pids:
                        ready = httpx.get(f"{base}/readyz").json()
                        if ready["kg_version"] == version:
                            serving.add(ready["pid"])
                    seconds.append(time.perf_counter() - done)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return np.array(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients for the throughput table")
    parser.add_argument("--seconds", type=float, default=15, help="length of each throughput run")
    parser.add_argument("--edits", type=int, default=20, help="rule edits for the propagation table")
    args = parser.parse_args()

    kg = core.load_graph()
    clip, bundle = squat_bundle(kg)
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

    loads = {}
    for workers in (1, 2):
        port = free_port()
        proc = start_server(port, workers, {"FLEXAQA_ASSESS_QUEUE": str(4 * args.clients)})
        try:
            drive(f"http://127.0.0.1:{port}", bundle, args.clients, 2.0)  # warm-up
            loads[workers] = drive(f"http://127.0.0.1:{port}", bundle, args.clients, args.seconds)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(f"\nPOST /assess bundle, {args.clients} concurrent clients for {args.seconds:g} s ({os.cpu_count()} CPUs)\n")
    print(f"{'workers':>7}  {'req/s':>7}  {'p50 ms':>8}  {'p99 ms':>8}  {'errors':>6}")
    for workers, load in loads.items():
        print(f"{workers:>7}  {load.throughput:7.1f}  {np.percentile(load.ms, 50):8.1f}  "
              f"{np.percentile(load.ms, 99):8.1f}  {sum(load.errors.values()):>6}")

    seconds = propagation(args.edits)
    print(f"\nPUT /rules through one of 2 workers: seconds until both serve the edit ({args.edits} edits)\n")
    print(f"{'p50 s':>6}  {'max s':>6}")
    print(f"{np.percentile(seconds, 50):6.2f}  {seconds.max():6.2f}")


if __name__ == "__main__":
    main()
