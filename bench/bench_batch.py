"""Benchmark ``flexaqa assess`` on many 2D clips: one call for all of them against one call per clip.

Run: python bench/bench_batch.py [--clips N] [--action A01]. Writes N two-second COCO-17 side views (a
synthetic repetition per clip, compressed to 2 s at 30 fps, seeded) to a temporary folder, then times, as a
user's script would, ``flexaqa assess FOLDER`` (graph loaded once) and N separate ``flexaqa assess FILE``
processes, rules only (``--no-model``: the shipped checkpoint, trained on 3D skeletons, declines 2D clips anyway).
Also times the bare start-up (``flexaqa --version``) and the assessment of the bundled example (with the
learned scorer, as a user runs it). Prints a table of wall-clock times measured in this one run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from flexaqa.clips.layouts import JOINT_INDEX, get_layout
from flexaqa.clips.skeleton import resample
from flexaqa.kg import KnowledgeGraph
from flexaqa.synth.generate import synthetic_set

FPS = 30.0
SECONDS = 2.0


def coco_side_view(kg: KnowledgeGraph, action: str, seed: int) -> np.ndarray:
    """(60, 17, 3) image x, y (y down), confidence: one synthetic repetition seen from the side."""
    clip = synthetic_set(kg, action, [[]], seed=seed)
    body = resample(clip.skeleton, int(SECONDS * FPS)).positions
    spec = get_layout("COCO-17")
    out = np.zeros((body.shape[0], len(spec.joints), 3))
    for k, joint in enumerate(spec.joints):
        name = "head" if joint == "nose" else joint
        if name in JOINT_INDEX:
            out[:, k] = np.column_stack([2 + body[:, JOINT_INDEX[name], 0], 2 - body[:, JOINT_INDEX[name], 1],
                                         np.full(body.shape[0], 0.9)])
    return out


def flexaqa(*args: str) -> float:
    """Seconds one ``flexaqa`` process takes, start to exit; a failure stops the benchmark."""
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "flexaqa", *args], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"flexaqa {' '.join(args)} failed:\n{run.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=100)
    parser.add_argument("--action", default="A01")
    args = parser.parse_args()
    kg = KnowledgeGraph.load()
    options = ["--action", args.action, "--layout", "COCO-17", "--fps", f"{FPS:g}", "--no-model"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i in range(args.clips):
            np.save(folder / f"clip_{i:03d}.npy", coco_side_view(kg, args.action, seed=i))
        startup = min(flexaqa("--version") for _ in range(3))
        example = min(flexaqa("assess") for _ in range(3))
        batch = flexaqa("assess", str(folder), *options, "--format", "csv")
        separate = sum(flexaqa("assess", str(path), *options, "--format", "json")
                       for path in sorted(folder.glob("*.npy")))
    n = args.clips
    print(f"{'what':<52}{'total s':>10}{'per clip ms':>14}")
    print(f"{'flexaqa --version (start-up, best of 3)':<52}{startup:>10.2f}{'':>14}")
    print(f"{'flexaqa assess (bundled example, best of 3)':<52}{example:>10.2f}{'':>14}")
    print(f"{f'{n} clips, one flexaqa assess call (folder, csv)':<52}{batch:>10.2f}{1000 * batch / n:>14.0f}")
    print(f"{f'{n} clips, {n} separate flexaqa assess calls':<52}{separate:>10.2f}{1000 * separate / n:>14.0f}")


if __name__ == "__main__":
    main()
