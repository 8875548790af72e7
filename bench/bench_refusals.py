"""What refused uploads cost a running server: a decompression bomb, big refused bundles, a busy queue.

Run: python bench/bench_refusals.py [--refusals 20] [--clients 32] [--seconds 20]. Starts ``flexaqa serve``
with its default settings and prints

* the answer to an .npz of about 2 MB whose extra member inflates to 2 GiB of zeros, how long it took and the
  server's peak resident memory (VmHWM) before and after;
* the server's resident memory over ``--refusals`` uploads of a 47 MB bundle (200,000 frames, longer than
  FLEXAQA_MAX_CLIP_S allows), against after 3 such refusals of warm-up;
* with the default queue, ``--clients`` clients that retry at once on a 503 for ``--seconds``, each posting
  the shipped example set (1.4 MB): the 200s and 503s answered per second.

Exits 1 when the memory after the refusals grew by more than 10 % over after warm-up.
"""

from __future__ import annotations

import argparse
import io
import time
import zipfile
from pathlib import Path

import httpx
import numpy as np
from bench_service import drive, free_port, squat_bundle, start_server
from load_service import MEMORY_GROWTH_LIMIT, tree_rss_mb

from flexaqa.api import core

BOMB_BYTES = 2 * 1024**3
LONG_FRAMES = 200_000


def bomb_bundle(bundle: bytes, inflated: int = BOMB_BYTES) -> bytes:
    """``bundle`` with one more member, ``zeros.npy``: ``inflated`` bytes of float64 zeros, deflated, streamed."""
    out = io.BytesIO(bundle)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("zeros.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False,
                                                          "shape": (inflated // 8,)})
            chunk = bytes(16 * 1024 * 1024)
            for _ in range(inflated // len(chunk)):
                member.write(chunk)
    return out.getvalue()


def long_bundle(frames: int = LONG_FRAMES) -> bytes:
    """A squat bundle of ``frames`` frames of noise at 30 fps: far longer than the service accepts (and than
    :class:`clips.skeleton.Skeleton` takes, so it is written as :func:`clips.files.save_bundle` would)."""
    positions = np.random.default_rng(0).normal(size=(frames, 21, 3)).astype(np.float32)
    out = io.BytesIO()
    np.savez_compressed(out, action=np.array("A16"), skeleton_positions=positions, skeleton_fps=np.array(30.0),
                        skeleton_layout=np.array("FLEX-21"))
    return out.getvalue()


def peak_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) / 1024


def post(base: str, bundle: bytes) -> tuple[int, str, float]:
    start = time.perf_counter()
    r = httpx.post(f"{base}/assess", files={"bundle": ("clip.npz", bundle)}, timeout=300)
    return r.status_code, r.text[:160], time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--refusals", type=int, default=20)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()

    _, squat = squat_bundle(core.load_graph())
    bomb, long = bomb_bundle(squat), long_bundle()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(port)
    try:
        post(base, squat)
        peak_before = peak_mb(proc.pid)
        bomb_answer = post(base, bomb)
        peak_after = peak_mb(proc.pid)
        for _ in range(3):
            refused = post(base, long)
        rss_warm = tree_rss_mb(proc.pid)
        for _ in range(args.refusals):
            refused = post(base, long)
        rss_end = tree_rss_mb(proc.pid)
        busy = drive(base, Path(core.EXAMPLE_CLIP).read_bytes(), args.clients, args.seconds)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    growth = rss_end / rss_warm - 1
    rows = [
        (f"bomb ({len(bomb) / 1e6:.1f} MB, {BOMB_BYTES / 2**30:g} GiB inflated)",
         f"HTTP {bomb_answer[0]} after {bomb_answer[2]:.2f} s: {bomb_answer[1]}"),
        ("server peak RSS, bomb", f"{peak_before:.0f} -> {peak_after:.0f} MB"),
        (f"refused bundle ({len(long) / 1e6:.0f} MB)", f"HTTP {refused[0]} after {refused[2]:.2f} s: {refused[1]}"),
        ("server RSS after 3 refusals", f"{rss_warm:.0f} MB"),
        (f"server RSS after {args.refusals} more", f"{rss_end:.0f} MB ({growth:+.1%})"),
        (f"busy: {args.clients} retrying clients", f"{len(busy.ms) / args.seconds:.1f} x 200/s, "
         f"{busy.errors.get('HTTP 503', 0) / args.seconds:.1f} x 503/s, other {dict(busy.errors)}"),
    ]
    for label, value in rows:
        print(f"{label:40}{value}")
    return 0 if growth <= MEMORY_GROWTH_LIMIT else 1


if __name__ == "__main__":
    raise SystemExit(main())
