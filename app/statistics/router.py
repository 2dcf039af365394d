"""/users/me/statistics: a thin route over StatisticsService."""

from fastapi import APIRouter

from app.api.deps import CurrentUser, StatisticsServiceDep
from app.api.responses import error_responses
from app.statistics.schemas import StatisticsRead

router = APIRouter(prefix="/users/me", tags=["statistics"])


@router.get("/statistics", response_model=StatisticsRead, responses=error_responses(401, 422, 503))
def get_statistics(user: CurrentUser, statistics: StatisticsServiceDep) -> StatisticsRead:
    """Scans done, first/latest overall score and change, best and worst metric, plan adherence,
    streak, days until the plan unlocks and until the next rescan (three DynamoDB reads)."""
    return StatisticsRead.model_validate(statistics.for_user(user=user))
