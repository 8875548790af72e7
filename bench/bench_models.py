"""Benchmark the learned scorer on CPU (and CUDA when present): one repetition end to end, batch-32 inference
throughput, training throughput.

Run: python bench/bench_models.py [--checkpoint PATH] [--repeat N] [--threads N]. Prints a table of medians
measured in this one run. "One repetition" includes the features (sEMG filtering and envelope, gap filling,
segmentation, resampling); the FKG embeddings come from the checkpoint (stored for its graph), as in the product.
"""

from __future__ import annotations

import argparse
import time

import torch
from timing import median_ms  # bench/timing.py, beside this script

from flexaqa.api.core import DEFAULT_CHECKPOINT
from flexaqa.kg import KnowledgeGraph
from flexaqa.models import checkpoint
from flexaqa.models.graph_encoder import graph_inputs
from flexaqa.models.modalities import clip_inputs, stack
from flexaqa.models.predict import Predictor
from flexaqa.models.scorer import expected_score
from flexaqa.synth.generate import synthetic_set


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    kg = KnowledgeGraph.load()
    predictor = Predictor(args.checkpoint, kg)
    one = synthetic_set(kg, "A16", [[]], seed=1)
    set32 = synthetic_set(kg, "A16", [[] for _ in range(32)], seed=2)
    reps = clip_inputs(kg, set32, [(i * 3.0, i * 3.0 + 3.0) for i in range(32)])
    batch = {k: torch.from_numpy(v) for k, v in stack(reps).items()}
    graph = graph_inputs(kg)
    model, _ = checkpoint.load(args.checkpoint, kg)  # with its graph encoder, for the embedding and training costs
    params = sum(p.numel() for p in model.parameters())
    print(f"model: {params / 1e3:.0f}k parameters, checkpoint {args.checkpoint}; torch threads {args.threads}\n")
    print(f"{'measure':58} {'value':>12}")
    predictor.findings(kg, one)
    print(f"{'one rep skeleton+sEMG, features + model, p50 ms (CPU)':58} "
          f"{median_ms(lambda: predictor.findings(kg, one), args.repeat):12.2f}")
    nodes = predictor.nodes(kg)
    single = {k: v[:1] for k, v in batch.items()}
    with torch.no_grad():
        print(f"{'  of which the model alone (embeddings cached), p50 ms':58} "
              f"{median_ms(lambda: model(single, nodes=nodes), args.repeat):12.2f}")
    print(f"{'FKG embeddings (computed once per exported graph), ms':58} "
          f"{median_ms(lambda: model.node_embeddings(graph), 10):12.2f}")
    for dev in ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]:
        model.to(dev)
        on_dev = {k: v.to(dev) for k, v in batch.items()}
        node_dev = {k: v.to(dev) for k, v in nodes.items()}

        def infer(on_dev: dict = on_dev, node_dev: dict = node_dev, dev: str = dev) -> None:
            with torch.no_grad():
                model(on_dev, nodes=node_dev)
            if dev == "cuda":
                torch.cuda.synchronize()

        ms = median_ms(infer, args.repeat)
        print(f"{f'batch 32 inference, reps/s ({dev})':58} {32 / ms * 1000:12.0f}")
        print(f"{f'training step batch 32 (GNN + encoders), reps/s ({dev})':58} "
              f"{32 / _train_step_ms(model, graph.to(dev), on_dev, dev) * 1000:12.0f}")
        model.to("cpu").eval()
    if torch.cuda.is_available():
        print(f"\nGPU: {torch.cuda.get_device_name(0)}")


def _train_step_ms(model: torch.nn.Module, graph, batch: dict, dev: str, steps: int = 10) -> float:
    """Median milliseconds of one optimiser step on ``batch`` (targets all zero: the cost, not the learning)."""
    model.train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-4)
    weight = graph["rule"].weight
    mask = torch.ones(len(batch["present"]), len(weight), dtype=torch.bool, device=dev)
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        logits = model(batch, graph).logits
        loss = torch.sigmoid(logits).mean() + expected_score(torch.sigmoid(logits), weight, mask).mean() / 100
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if dev == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return 1000 * sorted(times[1:])[steps // 2]


if __name__ == "__main__":
    main()
