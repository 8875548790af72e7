"""Background tasks that keep each other alive: one that fails is logged and started again after a back-off.

The file watcher (and any later background task) runs beside the server, not inside one task group that a
single exception tears down: a failure never closes the SPARQL sandbox or stops another task, and while a
task waits to be started again :attr:`Supervisor.down` says why, for ``/readyz``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio
from anyio.abc import TaskGroup

log = logging.getLogger("flexaqa.service")

FIRST_DELAY_S = 0.5
MAX_DELAY_S = 10.0
"""The back-off doubles from the first delay up to this; a task that ran longer than this starts from the first."""


class Supervisor:
    """Runs tasks in ``tasks`` and restarts each one that raises; a task that returns is done."""

    def __init__(self, tasks: TaskGroup) -> None:
        self._tasks = tasks
        self.down: dict[str, str] = {}
        """Each task now waiting to be started again, with the failure that stopped it."""

    def start(self, name: str, task: Callable[[], Awaitable[None]]) -> None:
        self._tasks.start_soon(self._keep, name, task, name=name)

    async def _keep(self, name: str, task: Callable[[], Awaitable[None]]) -> None:
        delay = FIRST_DELAY_S
        while True:
            started = anyio.current_time()
            try:
                await task()
                return
            except Exception as exc:  # whatever stops a task, it is restarted, never propagated
                if anyio.current_time() - started > MAX_DELAY_S:
                    delay = FIRST_DELAY_S
                self.down[name] = f"stopped by {type(exc).__name__}: {exc}; restarting in {delay:g} s"
                log.error("the %s stopped; restarting it in %g s", name, delay, exc_info=exc)
            await anyio.sleep(delay)
            del self.down[name]
            delay = min(delay * 2, MAX_DELAY_S)
