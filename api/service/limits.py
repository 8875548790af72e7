"""Back-pressure: a body-size cap, and a bounded pool of assessment slots with a short queue.

Assessment is CPU work in threads; letting every request start one would make all of them slow. A
request waits for one of ``slots`` only while fewer than ``queue`` others wait (receiving their body or
waiting for a worker); past that it is told to come back later (503 + Retry-After) before its body is
read, instead of piling up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flexaqa.api.service.errors import ServiceError, problem


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
    """At most ``slots`` jobs at once and ``queue`` more admitted; any more are refused with a 503 at once,
    before their body is read."""

    def __init__(self, slots: int, queue: int, retry_after_s: int) -> None:
        self.slots, self.queue, self.retry_after_s = slots, queue, retry_after_s
        self._semaphore = anyio.Semaphore(slots)
        self._admitted = 0

    @property
    def busy(self) -> int:
        return self.slots - self._semaphore.value

    @asynccontextmanager
    async def admit(self) -> AsyncIterator[anyio.Semaphore]:
        """One of ``slots + queue`` places, or a 503: taken before the request's body is received (a busy
        server does not read and parse an upload only to refuse it) and held until the answer. Yields the
        worker slot to hold (``async with``) for the CPU work."""
        if self._admitted >= self.slots + self.queue:
            waiting = self._admitted - self.busy
            raise ServiceError(503, f"all {self.slots} assessment workers are busy and {waiting} requests "
                               "are waiting; try again shortly", None, {"Retry-After": str(self.retry_after_s)})
        self._admitted += 1
        try:
            yield self._semaphore
        finally:
            self._admitted -= 1

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Admission and a worker at once, for work without a body to receive."""
        async with self.admit() as worker, worker:
            yield
