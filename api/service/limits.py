"""Back-pressure: a body-size cap, and a bounded pool of assessment slots with a short queue.

Assessment is CPU work in threads; letting every request start one would make all of them slow. A
request waits for one of ``slots`` only while fewer than ``queue`` others wait; past that it is told to
come back later (503 + Retry-After) instead of piling up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.service.errors import ServiceError, problem


class BodyLimit:
    """ASGI middleware: 413 for a body over ``max_bytes``, by its Content-Length or as it streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    def _too_large(self) -> str:
        return f"the request body is larger than {self.max_bytes // (1024 * 1024)} MB"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await problem(413, self._too_large(), "body", {"Connection": "close"}, scope=scope)(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise ServiceError(413, self._too_large(), "body", {"Connection": "close"})
            return message

        await self.app(scope, limited, send)


class WorkLimiter:
    """At most ``slots`` jobs at once and ``queue`` waiting; any more are refused with a 503."""

    def __init__(self, slots: int, queue: int, retry_after_s: int) -> None:
        self.slots, self.queue, self.retry_after_s = slots, queue, retry_after_s
        self._semaphore = anyio.Semaphore(slots)
        self._waiting = 0

    @property
    def busy(self) -> int:
        return self.slots - self._semaphore.value

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._semaphore.value == 0 and self._waiting >= self.queue:
            raise ServiceError(503, f"all {self.slots} assessment workers are busy and {self._waiting} requests "
                               "are waiting; try again shortly", None, {"Retry-After": str(self.retry_after_s)})
        self._waiting += 1
        try:
            await self._semaphore.acquire()
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._semaphore.release()
