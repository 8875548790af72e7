"""Structured access logs: one JSON line per request (method, path, status, ms, pid) on ``flexaqa.access``;
a client that disconnects before its answer is status 499 with ``"error": "client disconnected"``.

An ASGI middleware rather than uvicorn's access log, so the line has the status the client really got
(also for refusals made by other middleware) and is machine-readable without parsing free text.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flexaqa.api.service.errors import CLIENT_CLOSED

log = logging.getLogger("flexaqa.access")


def configure() -> None:
    """Send access lines, bare, to stderr; done in each worker process, as workers are spawned afresh."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


class AccessLog:
    """ASGI middleware writing one JSON line when a response starts (or the request fails without one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        line: dict[str, object] = {"method": scope["method"], "path": scope["path"]}
        try:
            await self.app(scope, receive, record)
        finally:
            if status == CLIENT_CLOSED:  # the answer errors.py gives a client that went away mid-upload
                line["error"] = "client disconnected"
            line |= {"status": status, "ms": round((time.perf_counter() - start) * 1000, 2), "pid": os.getpid()}
            log.info(json.dumps(line))
