"""The ``flexaqa`` command line: the same operations as the service, for a terminal or a script."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from importlib.metadata import version

from flexaqa.api.cli import assess, data, graph, model, serve
from flexaqa.api.service.config import warn_unknown_variables
from flexaqa.clips.errors import ClipError
from flexaqa.extras import MissingExtraError
from flexaqa.kg import KGError, UnknownIdError
from flexaqa.kg.errors import QueryError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flexaqa",
        description="Knowledge-graph feedback for weight-training form: assess a repetition, query the "
        "Fitness Knowledge Graph, check rule edits, make synthetic data.",
    )
    parser.add_argument("--ontology", metavar="DIR", help="ontology folder (default: $FLEXAQA_ONTOLOGY or "
                        "the one shipped with flexaqa)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('flexaqa')}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    assess.register(sub)
    graph.register(sub)
    data.register(sub)
    model.register(sub)
    serve.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
                        format="%(levelname)s %(name)s: %(message)s")
    warn_unknown_variables()
    handler: Callable[[argparse.Namespace], int] = args.func
    try:
        code = handler(args)
        sys.stdout.flush()  # here, so a full disk or closed pipe is reported below rather than at exit
        return code
    except BrokenPipeError:
        _drop_stdout()  # the reader (``| head``) has all it wanted: nothing to say
    except OSError as exc:
        if exc.filename is None:  # no file named: standard output (a full disk, a device that takes nothing)
            _drop_stdout()
            print(f"flexaqa: cannot write the output: {exc.strerror}", file=sys.stderr)
        else:
            print(f"flexaqa: {exc.filename}: {exc.strerror}", file=sys.stderr)
    except (UnknownIdError, QueryError) as exc:
        print(f"flexaqa: {exc}", file=sys.stderr)
    except KGError as exc:
        print(f"flexaqa: invalid ontology\n{exc}", file=sys.stderr)
    except ClipError as exc:
        print(f"flexaqa: bad input: {exc}", file=sys.stderr)
    except MissingExtraError as exc:
        print(f"flexaqa: {exc}", file=sys.stderr)
    return 1


def _drop_stdout() -> None:
    """Point standard output at /dev/null, so the interpreter's last flush at exit has nowhere to fail."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
