"""Data commands: ``synth`` (a synthetic FLEX-layout dataset) and ``eval detectors``.

The engine is imported when a command runs, so other commands start without it.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from flexaqa.api.cli.common import load_graph


@dataclass(frozen=True)
class Within:
    """An argparse ``type=``: a number of ``kind`` from ``low`` to ``high`` (``None``: no upper bound).

    Checked while parsing, so a bad value stops the command before the graph loads, and ``str()`` is the
    range, which the option's help shows."""

    kind: type[int] | type[float]
    low: float
    high: float | None = None

    def __call__(self, text: str) -> int | float:
        try:
            value = self.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {self._noun}") from None
        if value != value or value < self.low or (self.high is not None and value > self.high):  # NaN too
            raise argparse.ArgumentTypeError(f"{text} is outside the allowed range {self}")
        return value

    @property
    def _noun(self) -> str:
        return "an integer" if self.kind is int else "a number"

    def __str__(self) -> str:
        return f"{self.low:g} or more" if self.high is None else f"{self.low:g}-{self.high:g}"


def id_list(text: str) -> list[str]:
    """An argparse ``type=``: comma-separated ids, none empty and none twice (an empty list is not "all")."""
    ids = [i.strip() for i in text.split(",")]
    if not all(ids):
        raise argparse.ArgumentTypeError(f"{text!r} has an empty id; give ids separated by commas, or leave the "
                                         "option out for all")
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise argparse.ArgumentTypeError(f"{', '.join(twice)} given more than once")
    return ids


PER_ACTION = Within(int, 1, 10_000)
ERROR_RATE = Within(float, 0.0, 1.0)
SEED = Within(int, 0)


def cmd_synth(args: argparse.Namespace) -> int:
    from flexaqa.synth.generate import Options, generate

    kg = load_graph(args)
    for action in args.actions or []:
        kg.action(action)
    options = Options(per_action=args.per_action, seed=args.seed, error_rate=args.error_rate, views=args.views)
    labels = generate(kg, Path(args.out), options, args.actions)
    errors = sum(len(s.errors) for s in labels.samples)
    print(f"wrote {len(labels.samples)} repetitions with {errors} injected errors to {args.out}")
    return 0


def cmd_eval_detectors(args: argparse.Namespace) -> int:
    from flexaqa.clips.flex import FlexDataset
    from flexaqa.clips.labels import read_labels
    from flexaqa.synth.evaluation import detector_accuracy

    labels = read_labels(args.data)  # a bad labels file is reported before the graph is loaded
    kg = load_graph(args)
    tallies = detector_accuracy(kg, labels, FlexDataset(args.data, load_video=False, cache_dir=args.cache))

    def fmt(x: float | None) -> str:
        return "   -" if x is None else f"{x:4.2f}"

    print(f"{'error':7} {'label':48} {'TP':>4} {'FP':>4} {'FN':>4} {'prec':>5} {'recall':>6}")
    total = [0, 0, 0]
    for error_id in sorted(tallies):
        t = tallies[error_id]
        total = [total[0] + t.tp, total[1] + t.fp, total[2] + t.fn]
        label = kg.error_types[error_id].label["en"][:48]
        print(f"{error_id:7} {label:48} {t.tp:4} {t.fp:4} {t.fn:4} {fmt(t.precision):>5} {fmt(t.recall):>6}")
    tp, fp, fn = total
    print(f"{'all':56} {tp:4} {fp:4} {fn:4} {fmt(tp / (tp + fp) if tp + fp else None):>5} "
          f"{fmt(tp / (tp + fn) if tp + fn else None):>6}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="write a synthetic dataset in the FLEX layout",
                       description="Simulate repetitions of every action from its Turtle poses, inject errors "
                       "through the Turtle detectors or the rules' declared fault motions, and write skeletons, "
                       "sEMG, optional views, splits and their labels (labels.json). Deterministic per seed.")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created when missing)")
    p.add_argument("--per-action", type=PER_ACTION, default=10, metavar="N",
                   help=f"repetitions per action, {PER_ACTION} (default: %(default)s)")
    p.add_argument("--seed", type=SEED, default=0, help=f"random seed, {SEED} (default: %(default)s)")
    p.add_argument("--actions", type=id_list, metavar="A,...", help="comma-separated action ids (default: all)")
    p.add_argument("--error-rate", type=ERROR_RATE, default=0.6, metavar="P",
                   help=f"share of repetitions with injected errors, {ERROR_RATE} (default: %(default)s)")
    p.add_argument("--views", type=int, default=0, choices=[0, 1, 2, 3], help="stick-figure video views")
    p.set_defaults(func=cmd_synth)

    ev = sub.add_parser("eval", help="measure detectors or models on labelled data").add_subparsers(
        dest="eval_command", required=True, metavar="SUBCOMMAND")
    p = ev.add_parser("detectors", help="precision and recall of the Turtle detectors per error type",
                      description="Run every detector on a labelled dataset (flexaqa synth) and count "
                      "true/false positives against the labelled errors. On synthetic data, whose errors were "
                      "injected through these detectors, this measures self-consistency, not accuracy on "
                      "real lifts.")
    p.add_argument("data", help="a folder written by flexaqa synth (FLEX layout with labels.json)")
    p.add_argument("--cache", type=Path, metavar="DIR",
                   help="keep parsed CSV tables here as binary arrays, so later runs skip the text parsing")
    p.set_defaults(func=cmd_eval_detectors)
