"""``GET /healthz`` (the process answers) and ``GET /readyz`` (which graph is in force, which model, last refusal,
what is skipped or down)."""

from __future__ import annotations

import os
from dataclasses import asdict

import anyio
from fastapi import APIRouter, Request, Response

from flexaqa.api import core
from flexaqa.api.service.deps import LiveDep, SettingsDep
from flexaqa.api.service.errors import PROBLEM_JSON, problem_members
from flexaqa.api.service.schemas import Health, Readiness, RejectedEditView, UnreadyProblem
from flexaqa.extras import MissingExtraError, require
from flexaqa.kg.errors import QueryLimitError
from flexaqa.kg.sparql import QueryService
from flexaqa.models import manifest

router = APIRouter(tags=["health"])

NO_MODEL = "rules alone: the service was started with --no-model (or FLEXAQA_MODEL=false)"
NO_CHECKPOINT = "rules alone: no readable model checkpoint"
WITH_MODEL = "rules, and the learned scorer where a rule's detector abstained (its errors are marked model)"
RULES_FOLDER = "rules folder"
ONLY_3D = "; 2D keypoints: rules alone (the checkpoint was trained on 3D skeletons)"


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Health:
    """Liveness: answers as long as the event loop runs; touches nothing else."""
    return Health()


@router.get("/readyz", response_model=Readiness, summary="The knowledge graph in force",
            responses={503: {"model": UnreadyProblem, "description": "A part is down (see `down`): the rules "
                             "folder cannot be read or the file watcher is restarting"}})
async def readyz(request: Request, live: LiveDep, settings: SettingsDep) -> Response:
    """Readiness: the version of the knowledge graph in force and how many rules it holds, the model
    checkpoint in use (none: the service scores by the Turtle rules alone), the last rule edit refused (by PUT
    or on disk), the folder entries skipped, the parts down (then 503), whether SPARQL workers are cut off from
    the network, and the pid of the worker that answered."""
    kg, rejected = live.current, live.last_rejected
    down = dict(request.app.state.background.down)
    if live.folder_problem is not None:
        down[RULES_FOLDER] = live.folder_problem
    readiness: dict[str, object] = dict(
        state="unready" if down else "ready", kg_version=kg.version, actions=len(kg.actions), rules=len(kg.rules),
        languages=core.languages(kg), **_scoring(settings.model),
        last_rejected_edit=None if rejected is None else RejectedEditView(**asdict(rejected)),
        skipped_files=live.skipped, down=down, pid=os.getpid(),
        sparql_isolation=await anyio.to_thread.run_sync(_isolation, request.app.state.queries))
    if not down:
        return Response(Readiness.model_validate(readiness).model_dump_json(), media_type="application/json")
    detail = "not ready: " + "; ".join(f"{part}: {why}" for part, why in down.items())
    body = UnreadyProblem.model_validate({**readiness, **problem_members(503, detail, scope=request.scope)})
    return Response(body.model_dump_json(), status_code=503, media_type=PROBLEM_JSON)


def _isolation(queries: QueryService) -> str | None:
    """Why SPARQL workers can reach the network, or ``None`` (the first call starts a worker to find out)."""
    try:
        return queries.sandbox.isolation
    except QueryLimitError as exc:
        return f"not known yet: {exc}"


def _scoring(model: bool) -> dict[str, str | None]:
    """The checkpoint in use and how clips are scored, as its manifest (read without torch) says."""
    if model:
        try:
            require("model", "the learned scorer")
        except MissingExtraError as exc:
            return {"model_checkpoint": None, "scoring": f"rules alone: {exc}"}
    header = core.shipped_manifest() if model else None
    if header is None:
        return {"model_checkpoint": None, "scoring": NO_CHECKPOINT if model else NO_MODEL}
    return {"model_checkpoint": core.DEFAULT_CHECKPOINT.name,
            "scoring": WITH_MODEL + ("" if manifest.speaks_2d(header) else ONLY_3D)}
