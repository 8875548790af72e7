"""What a request body says it is (its ``Content-Type``), read one way for every route that takes a body.

A route names the media types it takes; anything else, or text in a charset other than UTF-8 (the one
JSON, Turtle and SPARQL queries are read in), is a 415 naming what it takes.
"""

from __future__ import annotations

from email.message import Message

from fastapi import Request

from flexaqa.api.service.errors import ServiceError

UTF8 = {"utf-8", "utf8"}


def media_type(request: Request, *accepted: str) -> str:
    """The request's media type, lower-cased and without parameters, if it is one of ``accepted``."""
    header = request.headers.get("content-type", "")
    kind = header.partition(";")[0].strip().lower()
    if kind not in accepted:
        takes = " or ".join(accepted)
        raise ServiceError(415, f"send {takes}, not {kind or 'no content type'}", "content-type")
    parsed = Message()
    parsed["content-type"] = header
    charset = parsed.get_param("charset")
    if isinstance(charset, str) and charset.lower() not in UTF8:
        raise ServiceError(415, f"{kind} is read as UTF-8, not {charset}", "content-type")
    return kind
