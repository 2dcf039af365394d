"""/plans: thin routes over PlanService."""

from datetime import datetime

from fastapi import APIRouter, Request, Response, status

from app.api.cached import Rendered, cached_json
from app.api.deps import CurrentUser, PlanServiceDep, ReadCacheDep
from app.api.links import absolute
from app.api.params import Cursor, Limit, PlanId
from app.api.responses import error_responses
from app.auth.models import UserRecord
from app.core.referral import DERMATOLOGIST_DIRECTORY_PATH
from app.core.security import utc_now
from app.plans.models import PlanRecord
from app.plans.schemas import (
    AdherenceRead,
    CheckInCreate,
    CheckInRead,
    CheckInResult,
    PlanCreate,
    PlanPage,
    PlanRead,
    PlanStatusUpdate,
    PlanSummary,
)
from app.plans.timeline import adherence, plan_timeline, timeline_holds_for

router = APIRouter(prefix="/plans", tags=["plans"])


def to_read(plan: PlanRecord, user: UserRecord, now: datetime | None = None) -> PlanRead:
    return PlanRead(**plan.model_dump(mode="json", exclude={"checkins"}), **plan_timeline(plan, user, now))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PlanRead,
    responses=error_responses(401, 404, 409, 422, 503),
)
def create_plan(body: PlanCreate, user: CurrentUser, plans: PlanServiceDep) -> PlanRead:
    """Build a four-week plan from the given or latest completed scan (409 while a plan is locked)."""
    plan = plans.create(user=user, scan_id=body.scan_id, override_reason=body.override_reason)
    return to_read(plan, user)


@router.get("/active", response_model=PlanRead, responses=error_responses(401, 404, 503))
async def get_active_plan(
    user: CurrentUser, plans: PlanServiceDep, cache: ReadCacheDep, request: Request
) -> Response:
    """The current plan with lock state and today's routine."""

    def render() -> Rendered:
        plan = plans.get_active(user_id=user.user_id)
        now = utc_now()
        return Rendered(to_read(plan, user, now), valid_for_seconds=timeline_holds_for(plan, user, now))

    return await cached_json(request, user=user, cache=cache, render=render)


@router.get("", response_model=PlanPage, responses=error_responses(400, 401, 422, 503))
def list_plans(
    user: CurrentUser, plans: PlanServiceDep, limit: Limit = 20, cursor: Cursor = None
) -> PlanPage:
    """Plan history, newest first."""
    items, next_cursor = plans.get_page(user_id=user.user_id, limit=limit, cursor=cursor)
    return PlanPage(
        items=[PlanSummary.model_validate(p.model_dump()) for p in items], next_cursor=next_cursor
    )


@router.get("/{plan_id}", response_model=PlanRead, responses=error_responses(401, 404, 503))
def get_plan(plan_id: PlanId, user: CurrentUser, plans: PlanServiceDep) -> PlanRead:
    return to_read(plans.get(user_id=user.user_id, plan_id=plan_id), user)


@router.patch("/{plan_id}", response_model=PlanRead, responses=error_responses(401, 404, 409, 422, 503))
def update_plan_status(
    plan_id: PlanId, body: PlanStatusUpdate, user: CurrentUser, plans: PlanServiceDep
) -> PlanRead:
    """active ⇄ paused; active/paused → completed | abandoned. Anything else is 409."""
    return to_read(plans.set_status(user_id=user.user_id, plan_id=plan_id, status=body.status), user)


@router.post(
    "/{plan_id}/checkins",
    status_code=status.HTTP_201_CREATED,
    response_model=CheckInResult,
    responses=error_responses(401, 404, 409, 422, 503),
)
def check_in(
    plan_id: PlanId, body: CheckInCreate, user: CurrentUser, plans: PlanServiceDep, request: Request
) -> CheckInResult:
    """Record a day (a later check-in for the same date replaces it); a severe reaction links to referral."""
    outcome = plans.check_in(user=user, plan_id=plan_id, checkin=body.model_dump(mode="python"))
    return CheckInResult(
        checkin=CheckInRead.model_validate(outcome.checkin.model_dump()),
        advice=outcome.advice,
        referral_url=absolute(request, DERMATOLOGIST_DIRECTORY_PATH) if outcome.advice else None,
    )


@router.get("/{plan_id}/adherence", response_model=AdherenceRead, responses=error_responses(401, 404, 503))
def get_adherence(plan_id: PlanId, user: CurrentUser, plans: PlanServiceDep) -> AdherenceRead:
    """Percent of AM/PM routines done, current streak, reactions reported."""
    return AdherenceRead(**adherence(plans.get(user_id=user.user_id, plan_id=plan_id), user))
