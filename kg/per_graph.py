"""Values worked out from a graph, kept for the graphs used last: the one policy of every per-graph cache.

A service whose rules are edited all day sees a new graph after each edit, so a cache keyed by graph
(its version or export digest, see :mod:`kg`) that never forgets grows with every edit. :class:`PerGraph`
keeps the ``size`` keys used most recently and forgets the rest. A value computed from one graph object
and forgotten with it (:func:`kg.export.digest`) needs no bound: it lives in a weak dictionary instead.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

GRAPHS_KEPT = 4
"""Graphs a cache keeps by default: rules edited back and forth recompute nothing, a day of edits piles up
nothing."""


class PerGraph(Generic[K, V]):
    """A thread-safe least-recently-used map of at most ``size`` keys, filled on demand by :meth:`get`."""

    def __init__(self, size: int = GRAPHS_KEPT) -> None:
        if size < 1:
            raise ValueError("a cache keeps at least one value")
        self.size = size
        self._kept: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V]) -> V:
        """The value kept for ``key``, else ``make()``, kept. ``make`` runs outside the lock, so a slow one
        blocks no other key; two threads may both make a missing value, and the first one kept wins. What
        ``make`` raises is raised, and nothing is kept."""
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        value = make()
        with self._lock:
            value = self._kept.setdefault(key, value)
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return value
