"""The per-graph cache: bounded, least recently used first out, nothing kept when making a value fails."""

from __future__ import annotations

import pytest

from flexaqa.kg.per_graph import PerGraph


def test_the_cache_keeps_the_keys_used_last_and_makes_the_others_again() -> None:
    made: list[str] = []
    cache: PerGraph[str, str] = PerGraph(size=2)

    def get(key: str) -> str:
        return cache.get(key, lambda: made.append(key) or key.upper())

    assert [get("a"), get("b"), get("a"), get("c")] == ["A", "B", "A", "C"]
    assert made == ["a", "b", "c"]  # "a" was kept; "c" pushed out "b", the one used least recently
    get("a"), get("b")
    assert made == ["a", "b", "c", "b"]


def test_a_value_that_cannot_be_made_is_not_kept() -> None:
    cache: PerGraph[str, int] = PerGraph()

    def fails() -> int:
        raise OSError("unreadable")

    with pytest.raises(OSError):
        cache.get("v1", fails)
    assert cache.get("v1", lambda: 7) == 7


def test_a_cache_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError):
        PerGraph(size=0)
