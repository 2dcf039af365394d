"""Liveness and readiness (mounted at the root, outside /api/v1, for load balancers)."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import ContainerDep
from app.api.readiness import readiness

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/health/ready", responses={503: {"description": "Not ready"}})
def health_ready(container: ContainerDep) -> JSONResponse:
    """DynamoDB reachable with every table present, and image storage reachable."""
    report = readiness(container)
    return JSONResponse(report, status_code=200 if report["status"] == "ready" else 503)
