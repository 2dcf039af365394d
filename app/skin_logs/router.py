"""/skin-logs: thin routes over SkinLogService."""

from fastapi import APIRouter, Response, status

from app.api.deps import CurrentUser, SkinLogServiceDep
from app.api.params import Cursor, DateFrom, DateTo, Limit, SkinLogId
from app.api.responses import error_responses
from app.skin_logs.models import SkinLogRecord, to_public
from app.skin_logs.schemas import SkinLogCreate, SkinLogPage, SkinLogRead, SkinLogResult, SkinLogUpdate
from app.skin_logs.service import SkinLogWrite

router = APIRouter(prefix="/skin-logs", tags=["skin-logs"])


def to_read(log: SkinLogRecord) -> SkinLogRead:
    return SkinLogRead.model_validate(to_public(log.model_dump(mode="json")))


def to_result(written: SkinLogWrite) -> SkinLogResult:
    return SkinLogResult(**to_read(written.log).model_dump(), advice=written.advice, plan_id=written.plan_id)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SkinLogResult,
    responses=error_responses(401, 404, 422, 503),
)
def create_skin_log(body: SkinLogCreate, user: CurrentUser, logs: SkinLogServiceDep) -> SkinLogResult:
    """Log a day's self-rated skin (a mild/severe reaction applies the plan's check-in rules)."""
    return to_result(logs.create(user=user, data=body.model_dump(mode="python")))


@router.get("", response_model=SkinLogPage, responses=error_responses(400, 401, 422, 503))
def list_skin_logs(
    user: CurrentUser,
    logs: SkinLogServiceDep,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    limit: Limit = 30,
    cursor: Cursor = None,
) -> SkinLogPage:
    """Your logs dated `from`..`to` (inclusive), newest date first."""
    items, next_cursor = logs.page(
        user_id=user.user_id, date_from=date_from, date_to=date_to, limit=limit, cursor=cursor
    )
    return SkinLogPage(items=[to_read(log) for log in items], next_cursor=next_cursor)


@router.get("/{log_id}", response_model=SkinLogRead, responses=error_responses(401, 404, 422, 503))
def get_skin_log(log_id: SkinLogId, user: CurrentUser, logs: SkinLogServiceDep) -> SkinLogRead:
    return to_read(logs.get(user_id=user.user_id, log_id=log_id))


@router.patch("/{log_id}", response_model=SkinLogResult, responses=error_responses(401, 404, 409, 422, 503))
def update_skin_log(
    log_id: SkinLogId, body: SkinLogUpdate, user: CurrentUser, logs: SkinLogServiceDep
) -> SkinLogResult:
    """Change only the fields sent (null clears an optional one)."""
    return to_result(logs.update(user=user, log_id=log_id, changes=body.changes()))


@router.delete(
    "/{log_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 404, 422, 503),
)
def delete_skin_log(log_id: SkinLogId, user: CurrentUser, logs: SkinLogServiceDep) -> Response:
    logs.delete(user_id=user.user_id, log_id=log_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
