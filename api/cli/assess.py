"""``flexaqa assess``: score a clip and print the coaching, as text or JSON.

The engine and the clip readers are imported when the command runs (or its help is printed), so other
commands start without scipy and friends.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from flexaqa.api import core
from flexaqa.api.assessor import Assessor
from flexaqa.api.cli.common import load_graph, writable_file

if TYPE_CHECKING:
    from flexaqa.api.report import ReportInput
    from flexaqa.engine.report import Assessment, ErrorFound
    from flexaqa.kg import KnowledgeGraph

EXAMPLE = core.EXAMPLE_CLIP
SIDE_MESSAGES = {"left": "MsgSideLeft", "right": "MsgSideRight", "leading": "MsgSideLeading"}
"""The words for the side a detector found a fault on (engine.detectors names sides so)."""
UNIT_MESSAGES = """SELECT ?feature ?message WHERE {
  ?feature a fkg:Feature ; qudt:unit ?unit . ?message a fkg:Message ; dcterms:subject ?unit }"""
"""Per feature, the message that words a value in the feature's unit (messages.ttl links it to the unit)."""


def cmd_assess(args: argparse.Namespace) -> int:
    kg = load_graph(args)
    core.check_language(kg, args.lang)
    assessor = Assessor.on(kg, model=args.model, min_confidence=args.min_confidence)
    given = [_existing(Path(c)) for c in args.clip] or [EXAMPLE]
    paths = core.clip_paths(given)
    if len(paths) > 1 or paths != given or args.format in ("csv", "jsonl"):
        return _assess_batch(assessor, paths, args)
    args.format = args.format or "text"
    seen = assessor.examine(*assessor.open(paths[0], action=args.action, layout=args.layout, fps=args.fps,
                                           emg=args.emg, emg_rate=args.emg_rate))  # once, for both reports
    report = assessor.assess(seen, lang=args.lang, explain=args.explain)
    if args.format == "json":
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(render_text(kg, report, explain=args.explain, trace=args.trace))
    if args.report is not None:
        _write_report(args.report, assessor.report(seen, args.lang))
    return 0


def _assess_batch(assessor: Assessor, paths: list[Path], args: argparse.Namespace) -> int:
    """Several clips: one line each, written as it is done (CSV with a header, or JSON Lines); 1 when any
    clip could not be assessed (its line says why)."""
    import csv

    if args.format in ("text", "json"):
        raise SystemExit(f"flexaqa assess: error: --format {args.format} is for one clip; several clips are "
                         "written one line each: --format csv or jsonl")
    if args.report is not None or args.emg is not None:
        raise SystemExit("flexaqa assess: error: --report and --emg take one clip, not several")
    if args.explain or args.trace:
        raise SystemExit("flexaqa assess: error: --explain and --trace word the text report of one clip; "
                         f"--format {args.format or 'csv'} writes one line per clip")
    jsonl = args.format == "jsonl"  # csv when not given
    writer = None if jsonl else csv.DictWriter(sys.stdout, fieldnames=core.CLIP_LINE_FIELDS, lineterminator="\n")
    if writer is not None:
        writer.writeheader()
    failed = 0
    for line in assessor.batch(paths, action=args.action, lang=args.lang, progress=True, layout=args.layout,
                               fps=args.fps):
        failed += line.problem is not None
        if writer is None:
            sys.stdout.write(line.model_dump_json() + "\n")
        else:
            row = line.model_dump()
            writer.writerow({**row, "errors": ";".join(line.errors), "abstained": ";".join(line.abstained)})
        sys.stdout.flush()
    if failed:
        print(f"flexaqa: {failed} of {len(paths)} clip(s) could not be assessed (see their problem column)",
              file=sys.stderr)
    return 1 if failed else 0


def _existing(path: Path) -> Path:
    """A clip as given: a file or a folder that is there, before anything asks which action it shows."""
    from flexaqa.clips.errors import ClipError

    if not path.exists():
        raise ClipError("clip.file", f"no such file or folder: {path}")
    if not (path.is_file() or path.is_dir()):
        raise ClipError("clip.file", f"{path} is not a regular file (a device, pipe or socket): give a clip file")
    return path


def _min_confidence(text: str) -> float:
    """``--min-confidence``: a keypoint confidence in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{value:g} is outside [0, 1]")
    return value


def _write_report(path: Path, page_input: ReportInput) -> None:
    """``--report``: the report page as one self-contained HTML file; an unwritable path is a usage error."""
    from flexaqa.api.report import render_page

    page = render_page(page_input)
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise SystemExit(f"flexaqa assess: error: --report: cannot write {path}: {exc.strerror}") from None


def render_text(kg: KnowledgeGraph, report: Assessment, explain: bool = False, trace: bool = False) -> str:
    """The assessment as a coach would read it, every word from the graph's messages in the report's
    language: score, cues heaviest first, then per rep the faults with their key step, time and measured
    value in the feature's unit. ``trace`` adds the ids, raw comparisons, W_max shares and Turtle lines."""
    lang = report.lang

    def say(message: str, **fields: object) -> str:
        return kg.message(message, lang, **fields)

    lines = [say("MsgReportTitle", action=report.action_label, count=len(report.repetitions)),
             say("MsgReportScore", score=report.score, low=report.score_low, high=report.score_high,
                 worst=report.worst_repetition)]
    if trace:
        lines.append("  " + say("MsgTraceSet", action=report.action, detectors=report.detectors,
                                version=report.kg_version))
    lines += [*report.notes, ""]
    if report.coaching:
        lines.append(say("MsgReportCoaching"))
        for i, cue in enumerate(report.coaching, start=1):
            lines.append(f"  {i}. {cue.text}   ({say('MsgReportPoints', points=cue.points_lost)})")
            if explain and cue.explanation:
                lines.append(f"     {cue.explanation}")
            if trace:
                lines.append("     " + say("MsgTraceCue", errors=cue.error_type, rules=", ".join(cue.rules)))
        lines.append("")
    if report.summary:
        lines += [report.summary, ""]
    units = {str(row["feature"]): str(row["message"]) for row in kg.select(UNIT_MESSAGES)}
    lines.append(say("MsgReportRepetitions"))
    for rep in report.repetitions:
        lines.append("  " + say("MsgReportRepetition", index=rep.index, start=rep.time_span[0],
                                end=rep.time_span[1], score=rep.score, checked=rep.points_checked))
        if trace:
            lines.append("     " + say("MsgTraceRepetition", w_max=report.w_max, checked=rep.points_checked))
        for err in rep.errors:
            lines.append("     - " + say("MsgReportFault", fault=err.label, step=err.key_step_label,
                                         side=say(SIDE_MESSAGES[err.side]) if err.side in SIDE_MESSAGES else "",
                                         start=err.time_span[0], end=err.time_span[1],
                                         evidence=_evidence(kg, err, units, say),
                                         points=say("MsgReportPoints", points=err.points_lost)))
            if trace:
                lines.append("       " + say("MsgTraceFault", error=err.error_type, step=err.key_step,
                                             value="?" if err.value is None else f"{err.value:.3g}",
                                             sign=_sign(err.comparator), threshold=_number(err.threshold),
                                             rule=err.rule, source=err.rule_source))
    return "\n".join(lines) + "\n"


def _evidence(kg: KnowledgeGraph, err: ErrorFound, units: dict[str, str], say: Callable[..., str]) -> str:
    """"; measured 59% of torso length, below the limit of 70% ...": the value and threshold in the unit of
    the rule's feature, or nothing when the rule measured no value or its unit has no words; for an error the
    model found, that it did and how sure it was (no rule measured anything)."""
    if err.source == "model":
        return say("MsgSeenByModel", probability=err.probability)
    detector = kg.rules[err.rule].detector if err.rule in kg.rules else None
    unit = units.get(detector.feature) if detector else None
    if unit is None or err.value is None or err.threshold is None:
        return ""
    value, limit = (say(unit, value=v, percent=100 * v) for v in (err.value, err.threshold))
    return say("MsgMeasuredBelow" if err.comparator == "LessThan" else "MsgMeasuredAbove", value=value, limit=limit)


def _sign(comparator: str | None) -> str:
    return {"LessThan": "<", "GreaterThan": ">"}.get(comparator or "", "?")


def _number(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _fps(text: str) -> float:
    """``--fps``: frames per second within ``clips.files.FPS_RANGE``."""
    from flexaqa.clips.files import FPS_RANGE

    return _within(text, FPS_RANGE, "fps")


def _emg_rate(text: str) -> float:
    """``--emg-rate``: a sampling rate within ``clips.files.EMG_RATE_RANGE``."""
    from flexaqa.clips.files import EMG_RATE_RANGE

    return _within(text, EMG_RATE_RANGE, "Hz")


def _within(text: str, limits: tuple[float, float], unit: str) -> float:
    """An argparse ``type=``: the number, or a usage error that gives the allowed range (the readers are
    imported only now, when the option is given)."""
    from flexaqa.clips.errors import ClipError
    from flexaqa.clips.files import check_rate

    try:
        return check_rate(float(text), limits, unit, unit)
    except ClipError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


class _LazyHelp(argparse.HelpFormatter):
    """Fills ``{videos}``, ``{layouts}``, ``{fps}`` ... in help texts from the clip readers when help is printed,
    so the lists are the readers' own and the command line does not import them to start."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help
        if not text or "{" not in text:
            return text
        from flexaqa.clips.files import DEFAULT_FPS, EMG_RATE_RANGE, FPS_RANGE, SKELETON_SUFFIXES, VIDEO_SUFFIXES
        from flexaqa.clips.layouts import LAYOUTS

        facts = {"videos": " ".join(VIDEO_SUFFIXES), "skeletons": " ".join(SKELETON_SUFFIXES),
                 "min_confidence": ", ".join(f"{n} {spec.min_confidence:g}" for n, spec in LAYOUTS.items()
                                             if spec.min_confidence > 0),
                 "layouts": ", ".join(LAYOUTS), "default_fps": f"{DEFAULT_FPS:g}",
                 "fps": "{:g}-{:g}".format(*FPS_RANGE), "emg_rate": "{:g}-{:g}".format(*EMG_RATE_RANGE)}
        return text.format_map({k: v.replace("%", "%%") for k, v in facts.items()})


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("assess", help="score a clip and say what to fix", formatter_class=_LazyHelp,
                       description="Assess every repetition of a clip against the Turtle rules of its action: "
                       "score S = (1 - W_obs/W_max) * 100, per-phase breakdown and coaching cues. Without "
                       "CLIP, assesses the example set that ships with flexaqa.")
    p.add_argument("clip", nargs="*",
                   help="the recording: a clip bundle or skeleton file ({skeletons}), a folder of OpenPose "
                   "*_keypoints.json frames, or a video ({videos}; needs pip install 'flexaqa[pose]'); several "
                   "files or a folder of clips are assessed in one run, one line each (default: the bundled "
                   "example)")
    p.add_argument("--action", help="action id A01-A20 (needed unless the clip file names it)")
    p.add_argument("--layout", default="MediaPipe-33",
                   help="joint layout of a .csv/.npy skeleton: {layouts} (default: %(default)s)")
    p.add_argument("--fps", type=_fps, default=None,
                   help="frame rate of a .csv/.npy skeleton, {fps} frames per second (a file without one is read "
                   "at {default_fps}, and the report says so)")
    p.add_argument("--emg", help="sEMG file (.csv, .npy, .mat) recorded with the action's montage")
    p.add_argument("--emg-rate", type=_emg_rate,
                   help="sEMG sampling rate, {emg_rate} Hz, when the file does not say")
    p.add_argument("--lang", default="en",
                   help="language of every word printed: en or zh as shipped; an unknown tag is refused with "
                   "the languages of the graph in force (default: %(default)s)")
    p.add_argument("--explain", action="store_true", help="add why each fault matters and how to fix it")
    p.add_argument("--trace", action="store_true",
                   help="add the developer evidence: error and key-step ids, the raw comparison, the rule's "
                   "Turtle file:line, the share of W_max checked")
    p.add_argument("--format", choices=["text", "json", "csv", "jsonl"], default=None,
                   help="one clip: text for a lifter (default), or json: the full report (engine/report.py is "
                   "the contract); several clips: csv (default) or jsonl, one line per clip with the score, "
                   "the errors and the rules that abstained")
    p.add_argument("--min-confidence", type=_min_confidence, default=None, metavar="C",
                   help="keypoints scored below C count as missing (default: the layout's own, from its "
                   "detector: {min_confidence})")
    p.add_argument("--model", action=argparse.BooleanOptionalAction, default=True,
                   help="let the shipped learned scorer speak for rules whose detectors abstained, its errors marked "
                   "model (default); --no-model: the Turtle rules alone, without importing torch (about two "
                   "seconds less per run; a 2D clip, which the shipped model declines, never imports it)")
    p.add_argument("--report", type=writable_file, metavar="OUT.html",
                   help="also write the report page: one self-contained HTML file (skeleton, timeline, sEMG, "
                   "coaching, the action's part of the graph) that opens offline")
    p.set_defaults(func=cmd_assess)
