"""``GET /healthz`` (the process answers) and ``GET /readyz`` (a graph is in force, and which)."""

from __future__ import annotations

from fastapi import APIRouter

from api import core
from api.service.deps import GraphDep
from api.service.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Health:
    """Liveness: answers as long as the event loop runs; touches nothing else."""
    return Health()


@router.get("/readyz", response_model=Readiness, summary="The knowledge graph in force")
async def readyz(kg: GraphDep) -> Readiness:
    """Readiness: the version of the knowledge graph in force and how many rules it holds."""
    return Readiness(kg_version=kg.version, actions=len(kg.actions), rules=len(kg.rules),
                     languages=core.languages(kg))
