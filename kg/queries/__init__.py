"""SPARQL queries shipped as ``.rq`` files.

Names without a leading underscore are competency queries for users (``flexaqa sparql NAME``, see ``--list``);
``_``-prefixed ones build the typed views of :class:`kg.KnowledgeGraph`. A query's header comment
says what it answers and which variables may be pre-bound.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

QUERY_DIR = Path(__file__).resolve().parent


@cache
def text(name: str) -> str:
    path = QUERY_DIR / f"{name}.rq"
    if not path.is_file():
        raise KeyError(f"no query named {name!r}; shipped: {', '.join(names())}")
    return path.read_text(encoding="utf-8")


def names() -> list[str]:
    """The competency queries a user may run by name."""
    return sorted(p.stem for p in QUERY_DIR.glob("*.rq") if not p.stem.startswith("_"))


def describe(name: str) -> str:
    """The first comment line of a query: what it answers."""
    first = text(name).splitlines()[0]
    return first.lstrip("# ").strip()
