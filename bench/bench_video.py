"""Benchmark the video path of the learned scorer: one repetition with two views, and batch-32 throughput.

Run: python bench/bench_video.py [--repeat N] [--threads N] [--real PATH]. Prints p50/p90 over ``repeat``
runs measured in this one run (after one warm-up). The two views are stick-figure renders of a simulated
repetition at 112 px (as ``flexaqa synth --views 2`` writes them; DESIGN.md's bar: "two 112 px views under
200 ms" on one core), encoded to H.264 once so that decoding can be timed too. "Features" is
:func:`models.frames.repetition_frames` on views already decoded; "decode" is PyAV reading the two MP4s.
With ``--real`` (default: the squat video beside the checkout, when present) a 1080 x 608 phone view is
timed as well, since big frames make decoding and resizing, not the CNN, the cost. PyAV decodes with its own
threads (``clips.video`` asks for ``thread_type="AUTO"``); ``--threads`` sets torch's only.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from flexaqa.clips.flex import FPS
from flexaqa.clips.video import Video, read_video, write_video
from flexaqa.kg import KnowledgeGraph
from flexaqa.models.frames import repetition_frames, stack_frames
from flexaqa.models.video_encoder import VideoEncoder
from flexaqa.synth.generate import simulate
from flexaqa.synth.render import render_side_view

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "video" / "squat_gym_side.mp4"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--real", type=Path, default=REAL)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    kg = KnowledgeGraph.load()
    sim = simulate(kg, sorted(kg.actions)[0], np.random.default_rng(0))
    views = [Video(frames=render_side_view(sim.positions, view_angle=angle), fps=FPS) for angle in (0.0, 35.0)]
    span = (sim.rep.start / FPS, sim.rep.end / FPS)
    encoded = [_mp4(view) for view in views]
    encoder = VideoEncoder(64).eval()

    @torch.no_grad()
    def forward(batch: dict[str, torch.Tensor]) -> None:
        encoder(batch["frames"], batch["view_mask"])
        if batch["frames"].is_cuda:
            torch.cuda.synchronize()

    one = _features(views, span)
    print(f"video encoder: {sum(p.numel() for p in encoder.parameters()) / 1e3:.0f}k parameters, {encoder!r}; "
          f"torch threads {args.threads}; synthetic views {views[0].frames.shape[2]}x{views[0].frames.shape[1]} "
          f"px, rep of {span[1] - span[0]:.2f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    rows: list[tuple[str, Callable[[], object], int]] = [
        ("decode two 112 px MP4 views (PyAV, whole sample)", lambda: [read_video(e) for e in encoded], args.repeat),
        ("features: frames from the decoded views", lambda: _features(views, span), args.repeat),
        ("encoder forward", lambda: forward(one), args.repeat),
        ("features + forward (decode excluded)", lambda: forward(_features(views, span)), args.repeat),
        ("decode + features + forward", lambda: forward(_features([read_video(e) for e in encoded], span)),
         args.repeat),
    ]
    if args.real.is_file():
        real = read_video(args.real, max_frames=round(3.5 * FPS))
        size = f"{real.frames.shape[2]}x{real.frames.shape[1]}"
        rows += [  # timing only: which 3 s of the set does not matter
            (f"real {size}: decode 3.5 s of one view", lambda: read_video(args.real, max_frames=round(3.5 * FPS)),
             max(3, args.repeat // 10)),
            (f"real {size}: features (the view twice) + forward", lambda: forward(_features([real, real], (0.2, 3.2))),
             args.repeat),
        ]
    print(f"{'one repetition, two views, CPU':58} {'p50 ms':>9} {'p90 ms':>9}")
    for name, work, repeat in rows:
        p50, p90 = percentiles_ms(work, repeat)
        print(f"{name:58} {p50:9.2f} {p90:9.2f}")

    print(f"\n{'batch 32 (two views each)':58} {'reps/s':>9}")
    p50, _ = percentiles_ms(lambda: [repetition_frames(views, *span) for _ in range(32)], 5)
    print(f"{'features, CPU':58} {32 / p50 * 1000:9.0f}")
    big = {k: torch.from_numpy(v) for k, v in stack_frames([repetition_frames(views, *span)] * 32).items()}
    for dev in ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]:
        encoder.to(dev)
        on_dev = {k: v.to(dev) for k, v in big.items()}
        p50, _ = percentiles_ms(lambda on_dev=on_dev: forward(on_dev), 10)
        print(f"{f'encoder inference ({dev})':58} {32 / p50 * 1000:9.0f}")
        print(f"{f'encoder training step ({dev})':58} {32 / _train_step_ms(encoder, on_dev) * 1000:9.0f}")
        encoder.to("cpu").eval()
    if torch.cuda.is_available():
        print(f"\nGPU: {torch.cuda.get_device_name(0)}")


def percentiles_ms(work: Callable[[], object], repeat: int) -> tuple[float, float]:
    """p50 and p90 milliseconds of ``work`` over ``repeat`` runs after one warm-up (``timing.median_ms`` gives
    the median only)."""
    work()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times), statistics.quantiles(times, n=10, method="inclusive")[-1]


def _features(views: list[Video], span: tuple[float, float]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v) for k, v in stack_frames([repetition_frames(views, *span)]).items()}


def _mp4(video: Video) -> bytes:
    buffer = io.BytesIO()
    write_video(buffer, video)
    return buffer.getvalue()


def _train_step_ms(encoder: VideoEncoder, batch: dict[str, torch.Tensor], steps: int = 5) -> float:
    """Median milliseconds of one optimiser step (target all zero: the cost, not the learning)."""
    encoder.train()
    optimiser = torch.optim.AdamW(encoder.parameters(), lr=1e-4)

    def step() -> None:
        loss = encoder(batch["frames"], batch["view_mask"]).pow(2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if batch["frames"].is_cuda:
            torch.cuda.synchronize()

    return percentiles_ms(step, steps)[0]


if __name__ == "__main__":
    main()
