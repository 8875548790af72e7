"""``GET /rules``, ``GET|PUT /rules/{file}``: read and edit the Turtle files of the graph in force over HTTP.

An edit needs the configured bearer token (none configured: editing is off) and the file's ETag as
``If-Match`` (``If-None-Match: *`` to create a file), so two editors cannot overwrite each other. It is
validated like ``flexaqa rules check`` (parse, SHACL, the engine's checks), written atomically and put
in force at once by :meth:`kg.LiveGraph.write`; a refused edit changes nothing and answers 422 with every
message located at its file:line. Other workers pick the written file up through their file watch.
"""

from __future__ import annotations

import hmac
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Path, Request, Response

from flexaqa.api.service.deps import LiveDep, SettingsDep
from flexaqa.api.service.errors import ServiceError
from flexaqa.api.service.media import media_type
from flexaqa.api.service.schemas import Problem, RuleFile, RuleProblem, RuleWritten
from flexaqa.kg import KGError, LiveGraph
from flexaqa.kg.errors import OntologyFolderError, ShapeViolationError
from flexaqa.kg.live import ABSENT, EditConflictError, content_digest
from flexaqa.kg.loader import SHAPES_FILE

router = APIRouter(tags=["rules"])

TURTLE = "text/turtle"
FILE_DOC = "Path of a .ttl file inside the ontology folder: relative, '/'-separated, no '.' or '..' parts"
FILE_PATTERN = r"^(\.*[^/.\n][^/\n]*/)*[^/\n]*\.ttl$"
"""What :data:`FILE_DOC` says, as the pattern FastAPI checks (422 otherwise): each folder holds a character
other than a dot, the name ends in .ttl. A path that passes and still leaves the folder (a link) is a 400."""
FILE_EXAMPLE = "actions/A16_barbell_back_squat.ttl"


def _etag(digest: str) -> str:
    return f'"{digest}"'


def _tags(header: str) -> set[str]:
    """Entity tags of an If-Match / If-None-Match header, weak prefixes and quotes removed."""
    return {t.strip().removeprefix("W/").strip('"') for t in header.split(",") if t.strip()}


def _relative(live: LiveGraph, file: str) -> str:
    """``file`` as a path inside the ontology folder; 400 for anything that would leave it."""
    try:
        return live.resolve(file).relative_to(live.root.resolve()).as_posix()
    except ValueError as exc:
        raise ServiceError(400, str(exc), "file") from None


def _authorise(settings: SettingsDep, authorization: str | None) -> None:
    if settings.rules_token is None:
        raise ServiceError(403, "rule editing is off: the server has no rules token (set FLEXAQA_RULES_TOKEN)",
                           "authorization")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(),
                                                             settings.rules_token.get_secret_value().encode()):
        raise ServiceError(401, "a PUT needs the header 'Authorization: Bearer <rules token>'", "authorization",
                           {"WWW-Authenticate": "Bearer"})


def _expected(found: str, file: str, if_match: str | None, if_none_match: str | None) -> str:
    """The digest the edit must replace, from the request's preconditions (RFC 9110 section 13)."""
    if if_match is not None:
        tags = _tags(if_match)
        if found == ABSENT or not ("*" in tags or found in tags):
            raise ServiceError(412, f"{file} is not at version {if_match} (it is "
                               f"{'absent' if found == ABSENT else _etag(found)}); fetch it again and reapply the edit",
                               "if-match")
        return found
    if if_none_match is not None:
        if _tags(if_none_match) != {"*"}:
            raise ServiceError(400, "only 'If-None-Match: *' (create a new file) is understood", "if-none-match")
        if found != ABSENT:
            raise ServiceError(412, f"{file} exists already; send its ETag as If-Match to replace it", "if-none-match")
        return ABSENT
    raise ServiceError(428, f"send the ETag of {file} from GET /rules/{file} as If-Match (or 'If-None-Match: *' to "
                       "create it), so an edit never overwrites one made meanwhile", "if-match")


@router.get("/rules", response_model=list[RuleFile], summary="The Turtle files of the graph in force",
            responses={503: {"model": Problem, "description": "The ontology folder cannot be read"}})
async def list_rules(live: LiveDep) -> list[RuleFile]:
    """Every `.ttl` file of the ontology folder with its ETag, in path order; entries that are not Turtle
    files of the folder (see `skipped_files` in /readyz) are left out."""
    try:
        digests = await anyio.to_thread.run_sync(live.digests)
    except OntologyFolderError as exc:
        raise ServiceError(503, str(exc), "file") from None
    return [RuleFile(file=rel, etag=_etag(digest)) for rel, digest in digests.items()]


@router.get("/rules/{file:path}", summary="One Turtle file", response_class=Response,
            responses={200: {"content": {TURTLE: {}}, "description": "The file, with its ETag"},
                       400: {"model": Problem, "description": "A path that leads outside the ontology folder"},
                       404: {"model": Problem, "description": "No such file"},
                       422: {"model": Problem, "description": "Not a .ttl file path (see the pattern)"}})
async def get_rule_file(
    live: LiveDep, file: Annotated[str, Path(description=FILE_DOC, pattern=FILE_PATTERN, examples=[FILE_EXAMPLE])],
) -> Response:
    """The file's Turtle text as it is on disk, with the `ETag` to send back as `If-Match` on a PUT."""
    rel = _relative(live, file)
    if (why := live.skipped.get(rel)) is not None:
        raise ServiceError(404, f"{rel} is left out of the graph ({why}); GET /readyz lists what is skipped", "file")
    try:
        data = await anyio.to_thread.run_sync(live.read, rel)
    except OSError:  # missing, a folder or a pipe, a path below a file
        raise ServiceError(404, f"no file {rel} in the ontology folder; GET /rules lists them", "file") from None
    return Response(data, media_type=f"{TURTLE}; charset=utf-8",
                    headers={"ETag": _etag(content_digest(data)), "Cache-Control": "no-cache"})


@router.put("/rules/{file:path}", summary="Edit a Turtle file and put it in force", response_model=RuleWritten,
            openapi_extra={"requestBody": {"required": True, "content": {TURTLE: {"schema": {"type": "string"}}}}},
            responses={400: {"model": Problem, "description": "A path that leads outside the ontology folder, or "
                                "a body that is not UTF-8"},
                       401: {"model": Problem, "description": "Missing or wrong bearer token"},
                       403: {"model": Problem, "description": "Rule editing is off (no token configured), or the "
                             "shapes file"},
                       404: {"model": Problem, "description": "No route: a path with a line break"},
                       412: {"model": Problem, "description": "The file changed since the ETag given"},
                       415: {"model": Problem, "description": "The body is not text/turtle"},
                       422: {"model": RuleProblem, "description": "Not a .ttl file path (see the pattern), or the "
                             "edit would break the graph (each message at its file:line); nothing changed"},
                       428: {"model": Problem, "description": "No If-Match (or If-None-Match: *)"},
                       503: {"model": Problem, "description": "The ontology folder cannot be written"}})
async def put_rule_file(
    request: Request, live: LiveDep, settings: SettingsDep,
    file: Annotated[str, Path(description=FILE_DOC, pattern=FILE_PATTERN, examples=[FILE_EXAMPLE])],
    authorization: Annotated[str | None, Header(description="Bearer <rules token>")] = None,
    if_match: Annotated[str | None, Header(description="ETag of the version this edit replaces")] = None,
    if_none_match: Annotated[str | None, Header(description="'*' to create a new file")] = None,
) -> Response:
    """Replace the file with the Turtle body. It is parsed, validated with the whole graph (SHACL and the
    engine's checks) and, when valid, written atomically and put in force at once: the answer names the
    new knowledge-graph version. When invalid, nothing changes and the answer lists each problem at its
    file:line."""
    _authorise(settings, authorization)
    rel = _relative(live, file)
    if rel == SHAPES_FILE:
        raise ServiceError(403, f"{SHAPES_FILE} guards every edit and is not edited over HTTP; change it on disk",
                           "file")
    media_type(request, TURTLE)
    expect = _expected(live.digest(rel), rel, if_match, if_none_match)
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ServiceError(400, f"the body is not UTF-8 text (byte {exc.start})", "body") from None
    try:
        kg = await anyio.to_thread.run_sync(lambda: live.write(rel, text, expect=expect))
    except EditConflictError as exc:
        raise ServiceError(412, str(exc), "if-match") from None
    except OntologyFolderError as exc:
        raise ServiceError(503, str(exc), "file") from None
    except KGError as exc:
        messages = [str(v) for v in exc.violations] if isinstance(exc, ShapeViolationError) else [str(exc)]
        raise ServiceError(422, str(exc), "body", messages=messages) from None
    etag = _etag(live.digest(rel))
    body = RuleWritten(file=rel, etag=etag, kg_version=kg.version)
    return Response(body.model_dump_json(), media_type="application/json", headers={"ETag": etag})
