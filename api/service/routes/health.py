"""``GET /healthz`` (the process answers) and ``GET /readyz`` (which graph is in force, which model, last refusal)."""

from __future__ import annotations

import os
from dataclasses import asdict

from fastapi import APIRouter

from api import core
from api.service.deps import LiveDep, SettingsDep
from api.service.schemas import Health, Readiness, RejectedEditView
from models import manifest

router = APIRouter(tags=["health"])

NO_MODEL = "rules alone: the service was started with --no-model (or FLEXAQA_MODEL=false)"
NO_CHECKPOINT = "rules alone: no readable model checkpoint"
WITH_MODEL = "rules, and the learned scorer where a rule's detector abstained (its errors are marked model)"
ONLY_3D = "; 2D keypoints: rules alone (the checkpoint was trained on 3D skeletons)"


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Health:
    """Liveness: answers as long as the event loop runs; touches nothing else."""
    return Health()


@router.get("/readyz", response_model=Readiness, summary="The knowledge graph in force")
async def readyz(live: LiveDep, settings: SettingsDep) -> Readiness:
    """Readiness: the version of the knowledge graph in force and how many rules it holds, the model
    checkpoint in use (none: the service scores by the Turtle rules alone), the last rule edit refused (by PUT
    or on disk) and the pid of the worker that answered."""
    kg, rejected = live.current, live.last_rejected
    return Readiness(kg_version=kg.version, actions=len(kg.actions), rules=len(kg.rules),
                     languages=core.languages(kg), **_scoring(settings.model),
                     last_rejected_edit=None if rejected is None else RejectedEditView(**asdict(rejected)),
                     pid=os.getpid())


def _scoring(model: bool) -> dict[str, str | None]:
    """The checkpoint in use and how clips are scored, as its manifest (read without torch) says."""
    header = core.shipped_manifest() if model else None
    if header is None:
        return {"model_checkpoint": None, "scoring": NO_CHECKPOINT if model else NO_MODEL}
    return {"model_checkpoint": core.DEFAULT_CHECKPOINT.name,
            "scoring": WITH_MODEL + ("" if manifest.speaks_2d(header) else ONLY_3D)}
