"""/insights: the cycle-aware skin insight (thin route over CycleInsightService)."""

from dataclasses import asdict

from fastapi import APIRouter

from app.api.deps import CurrentUser, InsightServiceDep
from app.api.responses import error_responses
from app.insights.schemas import CycleInsightRead, SourceInsightRead
from app.insights.service import CycleInsight

router = APIRouter(prefix="/insights", tags=["insights"])


def summary_of(insight: CycleInsight) -> str:
    """One honest sentence about what the insight can and cannot say yet."""
    if not insight.tracking:
        return "Log your periods to see how your skin changes across your cycle."
    if insight.findings:
        return "; ".join(insight.findings) + "."
    counts = ", ".join(f"{s.positioned} {s.kind} readings" for s in insight.sources) or "no readings"
    return (
        f"No cycle phase differs from your average by more than noise and chance explain yet ({counts}); "
        "keep scanning across your cycle."
    )


@router.get("/cycle", response_model=CycleInsightRead, responses=error_responses(401, 422, 503))
def get_cycle_insight(user: CurrentUser, insights: InsightServiceDep) -> CycleInsightRead:
    """Each metric's average by cycle phase, the difference from your average, and whether it is real."""
    insight = insights.for_user(user=user)
    return CycleInsightRead(
        tracking=insight.tracking,
        reason=insight.reason,
        summary=summary_of(insight),
        findings=insight.findings,
        sources=[SourceInsightRead.model_validate(asdict(s)) for s in insight.sources],
        routine_step=insight.routine_step.model_dump() if insight.routine_step else None,
    )
