"""Apply Turtle files edited on disk (by hand, by git, or by another worker's PUT) while serving.

Every worker process watches the shared ontology folder with watchfiles and reloads its own
:class:`kg.LiveGraph` under the same validation as a PUT: a broken file is logged and kept as the last
rejected edit, an entry that is no Turtle file is skipped (both shown in ``/readyz``), and the graph in
force stays. A watch does not survive its folder (deleted, or moved away): it then ends with an error, and
the supervisor starts a new one, which first applies whatever changed meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import anyio
from watchfiles import Change, awatch

from flexaqa.kg import KGError, LiveGraph
from flexaqa.kg.errors import OntologyFolderError

log = logging.getLogger("flexaqa.service")

NAME = "file watcher"


def _filter(root: Path) -> Callable[[Change, str], bool]:
    """Turtle files, and the folder itself (its deletion ends the watch)."""

    def keep(_: Change, path: str) -> bool:
        return path.endswith(".ttl") or _is(path, root)

    return keep


def _is(path: str, root: Path) -> bool:
    return Path(path).absolute() == root.absolute()


async def _reload(live: LiveGraph) -> None:
    try:
        await anyio.to_thread.run_sync(live.reload)
    except KGError:
        pass  # LiveGraph.reload logged it and recorded it (the last rejected edit, or the folder's problem)


async def watch(live: LiveGraph) -> None:
    """Reload ``live`` now and after each batch of changed Turtle files, until cancelled; raises
    :class:`OntologyFolderError` when the folder is gone, so the watch is made again once it is back."""
    await _reload(live)
    if not live.root.is_dir():
        raise OntologyFolderError(f"the ontology folder {live.root} is gone; disk edits apply once it is back")
    async for changes in awatch(live.root, watch_filter=_filter(live.root), debounce=400, step=20):
        log.debug("changed on disk: %s", sorted(path for _, path in changes))
        await _reload(live)
        if not live.root.is_dir() or any(_is(path, live.root) for _, path in changes):
            raise OntologyFolderError(f"the ontology folder {live.root} was deleted or moved; watching it again")
