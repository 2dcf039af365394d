"""/cycle: period logs, predictions and today's position (thin routes over CycleService)."""

from fastapi import APIRouter, Response, status

from app.api.deps import CurrentUser, CycleServiceDep
from app.api.params import Cursor, Limit, PeriodId
from app.api.responses import error_responses
from app.cycles.models import PeriodRecord
from app.cycles.schemas import (
    CycleTodayRead,
    OvulationEstimate,
    PeriodCreate,
    PeriodPage,
    PeriodRead,
    PeriodUpdate,
    PredictedPeriodRead,
    PredictionsRead,
)
from app.cycles.service import NOT_CONTRACEPTION, PeriodChanges

router = APIRouter(prefix="/cycle", tags=["cycle"])


def to_read(log: PeriodRecord) -> PeriodRead:
    return PeriodRead.model_validate(log.model_dump(mode="json"))


@router.post(
    "/periods",
    status_code=status.HTTP_201_CREATED,
    response_model=PeriodRead,
    responses=error_responses(401, 422, 503),
)
def log_period(body: PeriodCreate, user: CurrentUser, cycles: CycleServiceDep) -> PeriodRead:
    """Log a period (422 naming the field when it is impossible or overlaps another log)."""
    changes = PeriodChanges(**body.model_dump(), fields_set=set(body.model_fields_set))
    return to_read(cycles.log(user_id=user.user_id, timezone=user.timezone, changes=changes))


@router.get("/periods", response_model=PeriodPage, responses=error_responses(400, 401, 422, 503))
def list_periods(
    user: CurrentUser, cycles: CycleServiceDep, limit: Limit = 20, cursor: Cursor = None
) -> PeriodPage:
    """The period history, newest first."""
    items, next_cursor = cycles.get_page(user_id=user.user_id, limit=limit, cursor=cursor)
    return PeriodPage(items=[to_read(p) for p in items], next_cursor=next_cursor)


@router.get("/periods/{period_id}", response_model=PeriodRead, responses=error_responses(401, 404, 422, 503))
def get_period(period_id: PeriodId, user: CurrentUser, cycles: CycleServiceDep) -> PeriodRead:
    return to_read(cycles.get(user_id=user.user_id, period_id=period_id))


@router.patch(
    "/periods/{period_id}", response_model=PeriodRead, responses=error_responses(401, 404, 422, 503)
)
def update_period(
    period_id: PeriodId, body: PeriodUpdate, user: CurrentUser, cycles: CycleServiceDep
) -> PeriodRead:
    """Change only what was sent; an edit into an impossible log is 422 and changes nothing."""
    changes = PeriodChanges(**body.model_dump(), fields_set=set(body.model_fields_set))
    return to_read(
        cycles.update(user_id=user.user_id, timezone=user.timezone, period_id=period_id, changes=changes)
    )


@router.delete(
    "/periods/{period_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 404, 422, 503),
)
def delete_period(period_id: PeriodId, user: CurrentUser, cycles: CycleServiceDep) -> Response:
    cycles.delete(user_id=user.user_id, period_id=period_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/predictions", response_model=PredictionsRead, responses=error_responses(401, 422, 503))
def get_predictions(user: CurrentUser, cycles: CycleServiceDep) -> PredictionsRead:
    """The next 3 periods from your own history, with windows; empty with a reason without logs."""
    result = cycles.predictions(user_id=user.user_id, timezone=user.timezone)
    stats = result.stats
    return PredictionsRead(
        predictions=[
            PredictedPeriodRead(
                start_date=p.start,
                window_start=p.window_start,
                window_end=p.window_end,
                ovulation_estimate=OvulationEstimate(
                    date=p.ovulation, fertile_window_start=p.fertile_start, fertile_window_end=p.fertile_end
                ),
            )
            for p in result.periods
        ],
        confidence=result.confidence,
        insufficient_history=stats is None or stats.insufficient_history,
        reason=result.reason,
        cycle_length_days=round(stats.cycle_days, 1) if stats else None,
        spread_days=round(stats.spread_days, 1) if stats else None,
        cycles_used=stats.cycles_used if stats else 0,
        outlier_cycles=stats.outliers if stats else [],
        disclaimer=NOT_CONTRACEPTION,
    )


@router.get("/today", response_model=CycleTodayRead, responses=error_responses(401, 422, 503))
def get_today(user: CurrentUser, cycles: CycleServiceDep) -> CycleTodayRead:
    """Today's cycle day and phase (menstrual, follicular, ovulation, luteal)."""
    on, position = cycles.today(user_id=user.user_id, timezone=user.timezone)
    if position is None:
        return CycleTodayRead(date=on, tracking=False, reason="no_logged_period_covers_today")
    return CycleTodayRead(date=on, tracking=True, cycle_day=position.cycle_day, phase=position.phase)
