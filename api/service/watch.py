"""Apply Turtle files edited on disk (by hand, by git, or by another worker's PUT) while serving.

Every worker process watches the shared ontology folder with watchfiles and reloads its own
:class:`kg.LiveGraph` under the same validation as a PUT: a broken file is logged and kept as the last
rejected edit (see ``/readyz``), and the graph in force stays.
"""

from __future__ import annotations

import logging

import anyio
from watchfiles import Change, awatch

from kg import KGError, LiveGraph

log = logging.getLogger("flexaqa.service")


def _turtle(_: Change, path: str) -> bool:
    return path.endswith(".ttl")


async def watch(live: LiveGraph, stop: anyio.Event) -> None:
    """Reload ``live`` after each batch of changed Turtle files until ``stop`` is set."""
    async for changes in awatch(live.root, watch_filter=_turtle, stop_event=stop, debounce=400, step=20):
        log.debug("changed on disk: %s", sorted(path for _, path in changes))
        try:
            await anyio.to_thread.run_sync(live.reload)
        except KGError:
            pass  # LiveGraph.reload logged it and recorded it as the last rejected edit
        except OSError:  # a file vanished or became unreadable mid-read: the next change reloads again
            log.exception("could not read the ontology folder %s", live.root)
