"""Model commands: ``train`` (the learned scorer on a labelled FLEX-layout folder, or the shipped default) and
``eval model`` (its metrics on a folder's test split).

torch and the models are imported when a command runs, so other commands start without them.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from flexaqa.api import core
from flexaqa.api.cli.common import load_graph, writable_file
from flexaqa.api.cli.data import SEED, Within
from flexaqa.extras import require

if TYPE_CHECKING:
    from flexaqa.kg import KnowledgeGraph

DEFAULT_DATA = {"per_action": 150, "seed": 11}
"""The synthetic set the shipped checkpoint is trained on (``flexaqa train --default``)."""
DEFAULT_TRAIN = {"epochs": 100, "seed": 0}
COMPARE_DATA = {"per_action": 150, "seed": 12}
"""``flexaqa eval compare`` without DATA: as many repetitions per action as the shipped checkpoint's set (at 40
most rules had about 3 labelled training errors), another seed; about 35 minutes on two cores."""
VIEWS = 2
"""Stick-figure views per repetition of the set ``eval compare --video`` generates (side-on and 35 degrees)."""
EPOCHS = Within(int, 1, 10_000)
BATCH = Within(int, 1, 65_536)
LR = Within(float, 1e-6, 1.0)


def cmd_train(args: argparse.Namespace) -> int:
    if args.default == (args.data is not None):
        raise SystemExit("flexaqa train: error: give a DATA folder, or --default (not both)")
    if args.data is not None and args.out is None:
        raise SystemExit("flexaqa train: error: --out CKPT: where to write the checkpoint trained on DATA")
    if args.default and args.video:
        raise SystemExit("flexaqa train: error: --video needs a DATA folder with views (flexaqa synth --views N); "
                         "the shipped checkpoint is skeleton + sEMG")
    require("model", "flexaqa train")  # torch: only once the command line is known to be usable
    from flexaqa.models.scorer import ScorerConfig
    from flexaqa.models.train import TrainConfig, train

    kg = load_graph(args)
    hidden = _error_list(kg, args.hide_errors, "--hide-errors")
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                         threads=args.threads, hidden_errors=hidden, camera_views=args.camera_views,
                         model=ScorerConfig(hidden=args.hidden, use_graph=not args.no_graph, video=args.video))
    if args.default:
        from flexaqa.synth.generate import Options, generate

        out = args.out or core.DEFAULT_CHECKPOINT
        with tempfile.TemporaryDirectory(prefix="flexaqa-train-") as folder:
            generate(kg, Path(folder), Options(**DEFAULT_DATA))
            metrics = train(kg, folder, out, config)
    else:
        out = args.out
        metrics = train(kg, args.data, out, config, cache_dir=args.cache)
    if metrics:
        print(f"wrote {out}")
        print(results_table(metrics))
    return 0


def cmd_eval_model(args: argparse.Namespace) -> int:
    require("model", "flexaqa eval model")
    import numpy as np

    from flexaqa.kg.export import node_table
    from flexaqa.models import checkpoint
    from flexaqa.models.data import load_splits
    from flexaqa.models.train import evaluate

    kg = load_graph(args)
    try:
        model, record = checkpoint.load(args.checkpoint or core.DEFAULT_CHECKPOINT, kg)
    except checkpoint.CheckpointError as exc:
        raise SystemExit(f"flexaqa: {exc}") from None
    test = load_splits(kg, args.data, args.cache, modalities=model.modalities)["test"]
    errors = [e for e in (args.errors or "").split(",") if e]
    print(f"checkpoint trained on KG {record['kg_version']}, graph in force {kg.version}; {len(test)} test reps")
    thresholds = np.array([record.get("thresholds", {}).get(r, 0.5) for r in node_table(kg)["rule"]])
    print(results_table(evaluate(model, kg, test, errors, thresholds)))
    return 0


def cmd_eval_compare(args: argparse.Namespace) -> int:
    require("model", "flexaqa eval compare")
    import json
    import time

    from flexaqa.models.compare import compare, markdown, pick_errors
    from flexaqa.models.data import load_splits
    from flexaqa.models.scorer import ScorerConfig
    from flexaqa.models.train import TrainConfig

    kg = load_graph(args)
    hidden = _error_list(kg, args.hold_out_errors, "--hold-out-errors")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="flexaqa-compare-") as folder:
        data = args.data
        if data is None:
            from flexaqa.synth.generate import Options, generate

            data = folder
            generate(kg, Path(folder), Options(per_action=args.per_action, seed=args.data_seed,
                                               views=VIEWS if args.video else 0))
        splits = load_splits(kg, data, args.cache, modalities=ScorerConfig(video=args.video).modalities)
    if args.hold_out_count and not hidden:
        hidden = pick_errors(kg, splits["train"], args.hold_out_count, args.seed)
    config = TrainConfig(epochs=args.epochs, seed=args.seed, threads=args.threads,
                         model=ScorerConfig(hidden=args.hidden, video=args.video))
    result = compare(kg, splits, config, hidden)
    result["wall_seconds"] = time.perf_counter() - start
    result["kg_version"] = kg.version
    source = args.data or (f"synthetic, {args.per_action} repetitions per action, seed {args.data_seed}"
                           + (f", {VIEWS} stick-figure views" if args.video else ""))
    text = markdown(result, f"Scorers side by side ({source}; KG {kg.version})")
    text += f"\nWall time of the whole command: {result['wall_seconds']:.0f} s.\n"
    args.out.write_text(text, encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2, default=float), encoding="utf-8")
    print(text)
    print(f"wrote {args.out} and {args.out.with_suffix('.json')}")
    return 0


def _error_list(kg: KnowledgeGraph, value: str | None, flag: str) -> tuple[str, ...]:
    """Comma-separated error type ids, each checked against the graph."""
    errors = tuple(e for e in (value or "").split(",") if e)
    for error in errors:
        if error not in kg.error_types:
            raise SystemExit(f"flexaqa: error: {flag}: {error} is not an error type of the graph")
    return errors


def results_table(metrics: dict) -> str:
    """The metrics of :func:`models.train.evaluate` as a table, one row per modality set."""
    columns = [("rho", "rho"), ("relL2", "rel_l2")]
    detection = [(k, "F1 " + name) for k, name in (("detection", "all"), ("detection_with_detector", "det"),
                                                    ("detection_without_detector", "no-det"),
                                                    ("detection_chosen", "chosen"))
                 if any(k in m for m in metrics.values() if isinstance(m, dict))]
    extra = [("IoU", "span_iou"), ("steps", "key_step_accuracy"), ("ECE", "ece")]
    head = f"{'inputs':10}" + "".join(f"{title:>8}" for title, _ in columns)
    head += "".join(f"{name:>12}" for _, name in detection) + f"{'mAP':>7}" + "".join(f"{t:>7}" for t, _ in extra)
    lines = [head]
    for name, m in metrics.items():
        if not isinstance(m, dict):
            continue
        row = f"{name:10}" + "".join(f"{m[key]:8.3f}" for _, key in columns)
        row += "".join(f"{m[k]['f1']:7.3f}/{m[k]['positives']:<4d}" if m[k]["positives"] else f"{'-':>12}"
                       for k, _ in detection)
        lines.append(row + f"{m['detection']['map']:7.3f}" + "".join(f"{m[k]:7.3f}" for _, k in extra))
    lines.append("F1 columns: micro F1 at each rule's threshold (chosen on validation subjects) / labelled errors; "
                 "det: rules with a Turtle detector, no-det: without; chosen: the --errors types. IoU: attended vs "
                 "labelled span; steps: key-step accuracy per time step; ECE: 15 bins. Synthetic labels: "
                 "self-consistency, not accuracy.")
    return "\n".join(lines)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the learned scorer on a labelled FLEX-layout folder",
                       description="Train the graph-conditioned scorer (models/) on the train split of a folder "
                       "written by flexaqa synth (or real FLEX with labels.json), evaluate it on the test split "
                       "and write a checkpoint recording the config, metrics and KG version. Runs under torchrun "
                       "(DDP) too. --default regenerates the shipped checkpoint from its seed.")
    p.add_argument("data", nargs="?", help="labelled FLEX-layout folder (flexaqa synth)")
    p.add_argument("--default", action="store_true",
                   help=f"train the shipped checkpoint: a fresh synthetic set {DEFAULT_DATA}, {DEFAULT_TRAIN}")
    p.add_argument("--out", type=writable_file, metavar="CKPT", help="checkpoint to write (default with --default: "
                   "the shipped one)")
    p.add_argument("--epochs", type=EPOCHS, default=DEFAULT_TRAIN["epochs"],
                   help=f"passes over the training split, {EPOCHS} (default: %(default)s)")
    p.add_argument("--batch-size", type=BATCH, default=64,
                   help=f"repetitions per optimiser step, {BATCH} (default: %(default)s)")
    p.add_argument("--lr", type=LR, default=3e-3, help="peak learning rate (default: %(default)s)")
    p.add_argument("--seed", type=SEED, default=DEFAULT_TRAIN["seed"],
                   help="seed of the weights and the batch order (default: %(default)s)")
    p.add_argument("--hidden", type=Within(int, 8, 1024), default=64, help="embedding size (default: %(default)s)")
    p.add_argument("--threads", type=Within(int, 0, 1024), default=1,
                   help="CPU threads for torch, 0 for its default (default: %(default)s: fastest on small CPUs)")
    p.add_argument("--no-graph", action="store_true", help="ablation: rule queries from label text, no GNN")
    p.add_argument("--video", action="store_true", help="also read the folder's video views (a third modality, "
                   "a (2+1)D CNN per view; flexaqa synth --views N writes them); the checkpoint then reads a clip's "
                   "views when it has some")
    p.add_argument("--camera-views", type=Within(float, 0.0, 1.0), default=0.0, metavar="SHARE",
                   help="share of training repetitions seen as a 2D phone-camera view of their 3D skeleton (random "
                   "angle, mostly from the side, and keypoint layout); a checkpoint trained with some speaks for 2D "
                   "clips too (default: %(default)s, 3D only: on real phone keypoints such a model did not beat "
                   "chance, see docs/scorer.md)")
    p.add_argument("--hide-errors", metavar="ET,...", help="error types left out of every training label")
    p.add_argument("--cache", type=Path, metavar="DIR", help="keep parsed CSV tables here between runs")
    p.set_defaults(func=cmd_train)

    ev = next(a for a in sub.choices["eval"]._actions if isinstance(a, argparse._SubParsersAction))
    p = ev.add_parser("model", help="metrics of a checkpoint on a labelled folder's test split",
                      description="Spearman rho and relative L2 of the score, error-detection F1 and mAP, with "
                      "every modality the checkpoint reads (skeleton+sEMG, and video if trained with --video) and "
                      "each alone, on the test split (held-out simulated subjects).")
    p.add_argument("data", help="labelled FLEX-layout folder (flexaqa synth)")
    p.add_argument("--checkpoint", type=Path, help="the checkpoint to evaluate (default: the shipped one)")
    p.add_argument("--errors", metavar="ET,...", help="also report detection on these error types alone")
    p.add_argument("--cache", type=Path, metavar="DIR", help="keep parsed CSV tables here between runs")
    p.set_defaults(func=cmd_eval_model)

    p = ev.add_parser("compare", help="rules, no-graph regressor and the model side by side, one results file",
                      description="Train and evaluate on one held-out-subject split: the Turtle rules alone, the "
                      "FLEX-style no-graph regressor, the graph-conditioned model with the graph on and off, each "
                      "modality alone and combined, rules + model merged, and optionally the zero-shot experiment. "
                      "Writes one Markdown table (OUT) and its numbers as JSON beside it. Without DATA a synthetic "
                      "set is generated (--per-action, --data-seed). Synthetic labels: self-consistency.")
    p.add_argument("data", nargs="?", help="labelled FLEX-layout folder (default: generate a synthetic one)")
    p.add_argument("--out", type=writable_file, required=True, metavar="RESULTS.md", help="Markdown file to write")
    p.add_argument("--per-action", type=Within(int, 5, 10_000), default=COMPARE_DATA["per_action"], metavar="N",
                   help="repetitions per action of the generated set (default: %(default)s)")
    p.add_argument("--data-seed", type=SEED, default=COMPARE_DATA["seed"],
                   help="seed of the generated synthetic set, when no DATA is given (default: %(default)s)")
    p.add_argument("--epochs", type=EPOCHS, default=DEFAULT_TRAIN["epochs"],
                   help=f"passes over the training split, {EPOCHS} (default: %(default)s)")
    p.add_argument("--seed", type=SEED, default=DEFAULT_TRAIN["seed"], help="training seed (default: %(default)s)")
    p.add_argument("--hidden", type=Within(int, 8, 1024), default=64, help="embedding size (default: %(default)s)")
    p.add_argument("--threads", type=Within(int, 0, 1024), default=1, help="CPU threads (default: %(default)s)")
    hold = p.add_mutually_exclusive_group()
    hold.add_argument("--hold-out-errors", metavar="ET,...", help="zero-shot: these error types are hidden from "
                      "every training label of an extra model")
    hold.add_argument("--hold-out-count", type=Within(int, 0, 1000), default=5, metavar="N",
                      help="zero-shot: hide N error types drawn with --seed among the labelled ones, 0 for none "
                      "(default: %(default)s)")
    p.add_argument("--video", action="store_true", help=f"the models also read video views (DATA's; a generated set "
                   f"gets {VIEWS} stick-figure views per repetition) and the table gains video alone and all combined")
    p.add_argument("--cache", type=Path, metavar="DIR", help="keep parsed CSV tables here between runs")
    p.set_defaults(func=cmd_eval_compare)
