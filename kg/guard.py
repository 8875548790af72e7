"""What a read-only, offline SPARQL endpoint refuses, decided on the parse of a query, never on its text.

A keyword scan cannot agree with the SPARQL grammar about where comments, strings, escapes and prefixed
names end, and every disagreement hides a ``SERVICE`` from it. So the query is parsed by rdflib's SPARQL
1.1 parser and its syntax tree is walked: a ``SERVICE`` pattern anywhere is refused, an update (``LOAD``
among them) is refused, and text that does not parse as a query is refused too (fail closed), so the
evaluator only ever sees a query whose every part the parser has accounted for.

The two parsers must agree on what the text is. The one place they were seen to differ is a comment ended
by a lone carriage return, which SPARQL allows and rdflib does not, so line ends are made ``\\n`` before
either parser sees the text (:func:`screen` returns the text to evaluate).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from types import FrameType

from pyparsing import ParseBaseException, ParseResults
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue

from flexaqa.kg.errors import QueryError, QueryRefusedError

MAX_QUERY_CHARS = 20_000
PARSE_FRAMES = 2_000
"""Python frames the parser may use beyond its caller's. This is the nesting limit, measured on the parse:
with rdflib 7.6 it admits 46 nested function calls, 51 levels of ``( )`` in an expression, 74 of ``{ }``
and 147 of ``[ ]``, below the 250 levels of ``[ ]`` that overflow oxigraph's parser stack."""

SERVICE = "federated queries (SERVICE) are not allowed: this endpoint never contacts another server"
LOAD = "LOAD is not allowed: the graph is read-only"
UPDATE = ("{} is an update, and the graph is read-only: edit the rule files instead "
          "(flexaqa rules check, PUT /rules/{{file}})")

_UPDATE_NAMES = {"InsertData": "INSERT DATA", "DeleteData": "DELETE DATA", "DeleteWhere": "DELETE WHERE",
                 "Modify": "INSERT/DELETE", "Clear": "CLEAR", "Drop": "DROP", "Create": "CREATE",
                 "Add": "ADD", "Move": "MOVE", "Copy": "COPY"}


def screen(text: str) -> str:
    """The query text to evaluate, once its parse shows a read-only query with no ``SERVICE``.

    Raises :class:`QueryRefusedError` for an update, ``LOAD``, ``SERVICE``, or a query too long or too
    deeply nested to parse, and :class:`QueryError` for text that is not a SPARQL query.
    """
    if len(text) > MAX_QUERY_CHARS:
        raise QueryRefusedError(f"the query is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    try:
        tree = _bounded(parseQuery, text)
    except ParseBaseException as exc:
        _refuse_update(text)
        raise QueryError(f"bad query: line {exc.lineno}, column {exc.col}: {exc.msg}") from None
    if any(node.name == "ServiceGraphPattern" for node in _nodes(tree)):
        raise QueryRefusedError(SERVICE)
    return text


def _refuse_update(text: str) -> None:
    """Raise the read-only refusal if ``text`` parses as a SPARQL update; return if it does not."""
    try:
        request = _bounded(parseUpdate, text)
    except ParseBaseException:
        return
    names = [node.name for node in _nodes(request) if node.name in _UPDATE_NAMES or node.name == "Load"]
    if "Load" in names:
        raise QueryRefusedError(LOAD)
    raise QueryRefusedError(UPDATE.format(_UPDATE_NAMES[names[0]] if names else "the request"))


def _bounded(parse, text: str):  # type: ignore[no-untyped-def]
    """``parse(text)`` with at most :data:`PARSE_FRAMES` frames of recursion: deeper nesting is refused."""
    depth = 0
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + PARSE_FRAMES)
    try:
        return parse(text)
    except RecursionError:
        raise QueryRefusedError("the query nests brackets too deeply to parse safely") from None
    finally:
        sys.setrecursionlimit(limit)


def _nodes(tree: object) -> Iterator[CompValue]:
    """Every syntax-tree node (rdflib's ``CompValue``) under ``tree``, without recursion."""
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, CompValue):
            yield item
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, ParseResults)):
            stack.extend(item)
