"""``flexaqa assess``: score a clip and print the coaching, as text or JSON.

The engine is imported when the command runs, so other commands start without scipy and friends.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from api.cli.common import load_graph

if TYPE_CHECKING:
    from engine.report import Assessment

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "example_set.npz"


def cmd_assess(args: argparse.Namespace) -> int:
    from clips.files import load_clip
    from engine.assess import assess

    kg = load_graph(args)
    clip = load_clip(args.clip, action=args.action, layout=args.layout, fps=args.fps, emg=args.emg,
                     emg_rate=args.emg_rate)
    report = assess(kg, clip, lang=args.lang, explain=args.explain)
    if args.format == "json":
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(render_text(report, explain=args.explain))
    return 0


def render_text(report: Assessment, explain: bool = False) -> str:
    """The assessment as a coach would read it: score, cues heaviest first, then the evidence per rep."""
    lines = [
        f"{report.action_label} ({report.action}): {len(report.repetitions)} repetition(s)",
        f"Score {report.score:.1f} / 100   (interval {report.score_low:.1f}-{report.score_high:.1f}; "
        f"worst rep {report.worst_repetition})",
        "",
    ]
    if report.coaching:
        lines.append("Coaching, heaviest first:")
        for i, cue in enumerate(report.coaching, start=1):
            lines.append(f"  {i}. {cue.text}   (-{cue.points_lost:.1f} pts; {', '.join(cue.rules)})")
            if explain and cue.explanation:
                lines.append(f"     {cue.explanation}")
        lines.append("")
    if report.summary:
        lines += [report.summary, ""]
    lines.append("Repetitions:")
    for rep in report.repetitions:
        lines.append(f"  rep {rep.index}: {rep.time_span[0]:.2f}-{rep.time_span[1]:.2f} s   score {rep.score:.1f}"
                     f"   checked {rep.points_checked:.0f}% of W_max")
        for err in rep.errors:
            evidence = ""
            if err.value is not None and err.threshold is not None:
                sign = "<" if err.comparator == "LessThan" else ">"
                evidence = f"; measured {err.value:.3g} {sign} {err.threshold:g}"
            side = f" ({err.side})" if err.side else ""
            lines.append(f"     - {err.error_type} {err.label}{side} in {err.key_step} {err.key_step_label} at "
                         f"{err.time_span[0]:.2f}-{err.time_span[1]:.2f} s{evidence}; -{err.points_lost:.1f} pts "
                         f"[{err.rule_source}]")
    lines.append(f"\nDetectors: {report.detectors}; knowledge graph {report.kg_version}")
    return "\n".join(lines) + "\n"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("assess", help="score a clip and say what to fix",
                       description="Assess every repetition of a clip against the Turtle rules of its action: "
                       "score S = (1 - W_obs/W_max) * 100, per-phase breakdown and coaching cues. Without "
                       "CLIP, assesses the example set that ships with flexaqa.")
    p.add_argument("clip", nargs="?", default=str(EXAMPLE),
                   help="an .npz clip bundle, or a skeleton .csv/.json/.npy (default: the bundled example)")
    p.add_argument("--action", help="action id A01-A20 (needed unless the clip file names it)")
    p.add_argument("--layout", default="MediaPipe-33",
                   help="skeleton layout of a .csv/.npy file: FLEX-21, NTU-25, COCO-17, OpenPose-18, MediaPipe-33")
    p.add_argument("--fps", type=float, default=30.0, help="frame rate of a skeleton file without one")
    p.add_argument("--emg", help="sEMG file (.csv, .npy, .mat) recorded with the action's montage")
    p.add_argument("--emg-rate", type=float, help="sEMG sampling rate in Hz, when the file does not say")
    p.add_argument("--lang", default="en", help="coaching language (en, zh)")
    p.add_argument("--explain", action="store_true", help="add why each fault matters and how to fix it")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_assess)
