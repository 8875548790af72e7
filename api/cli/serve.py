"""``flexaqa serve``: run the HTTP service (api/service) with uvicorn; no configuration needed."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flexaqa.api.service.config import Settings

from flexaqa.extras import require

APP_FACTORY = "flexaqa.api.service.app:create_app"


def cmd_serve(args: argparse.Namespace) -> int:
    require("serve", "flexaqa serve")
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from flexaqa.api import core
    from flexaqa.api.service.config import Settings, SettingsError

    try:
        settings = Settings.from_env(host=args.host, port=args.port, workers=args.workers,
                                     ontology=args.rules or args.ontology, model=args.model)
    except SettingsError as exc:
        print(f"flexaqa serve: {exc}", file=sys.stderr)
        return 2
    core.live_graph(settings.ontology)  # as the workers read it (stray entries skipped): a bad folder or file
    # stops here with file:line, before any worker starts
    os.environ.update(settings.to_env())  # each worker process builds its app from these (create_app())
    config = uvicorn.Config(APP_FACTORY, factory=True, host=settings.host, port=settings.port,
                            workers=settings.workers, access_log=False,
                            log_level="info" if args.verbose else "warning")
    # What uvicorn.run does, but with the socket bound first: its port (any free one with --port 0) is known
    # and announced before the workers start.
    sock = config.bind_socket()
    print(start_message(settings, sock.getsockname()[1]), flush=True)
    server = uvicorn.Server(config)
    try:
        if config.workers > 1:
            Multiprocess(config, sockets=[sock]).run()
        else:
            server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    return 0 if config.workers > 1 or server.started else 1


def start_message(settings: Settings, port: int) -> str:
    """Where the service answers, where its manual is, and whether rules can be edited over HTTP."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    url = f"http://{host}:{port}"
    editing = ("on: PUT /rules with the FLEXAQA_RULES_TOKEN bearer token" if settings.rules_token is not None
               else "off (set FLEXAQA_RULES_TOKEN to turn it on)")
    return f"flexaqa serve: {url}\n  manual: {url}/docs\n  rule editing: {editing}"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the HTTP service (assess, SPARQL, actions, errors, rules)",
                       description="Serve POST /assess, GET|POST /sparql, GET /actions and /errors, GET|PUT /rules, "
                       "/healthz and /readyz, with the OpenAPI manual at /docs. Settings come from FLEXAQA_* "
                       "variables (see api/service/config.py; FLEXAQA_RULES_TOKEN turns rule editing on); flags win.")
    p.add_argument("--host", help="interface to listen on (default 127.0.0.1, or $FLEXAQA_HOST)")
    p.add_argument("--port", type=int, help="TCP port (default 8000, or $FLEXAQA_PORT)")
    p.add_argument("--workers", type=int, help="server processes sharing the port and the rules folder (default 1, "
                   "or $FLEXAQA_WORKERS)")
    p.add_argument("--rules", metavar="DIR", help="ontology folder with the rules to serve (default: --ontology, "
                   "$FLEXAQA_ONTOLOGY, or the shipped one)")
    p.add_argument("--model", action=argparse.BooleanOptionalAction, default=None,
                   help="let the shipped learned scorer speak for rules whose detectors abstained (default on, or "
                   "$FLEXAQA_MODEL); --no-model: the Turtle rules alone")
    p.set_defaults(func=cmd_serve)
