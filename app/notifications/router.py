"""/notifications: thin routes over NotificationService."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.api.deps import CurrentUser, NotificationServiceDep
from app.api.params import Cursor, Limit
from app.api.responses import error_responses
from app.core.schemas import ULID_PATTERN
from app.notifications.models import DeviceRecord, NotificationRecord
from app.notifications.schemas import (
    DeviceCreate,
    DevicePage,
    DeviceRead,
    NotificationPage,
    NotificationRead,
    ReadAllResult,
)

router = APIRouter(prefix="/notifications", tags=["notifications"])

NotificationId = Annotated[str, Path(pattern=ULID_PATTERN, description="A notification id (ULID).")]
DeviceId = Annotated[str, Path(pattern=r"^[0-9a-f]{26}$", description="A device id.")]


def to_read(record: NotificationRecord, watermark: str | None) -> NotificationRead:
    read = record.read_at is not None or (watermark is not None and record.notification_id <= watermark)
    return NotificationRead(**record.model_dump(), read=read)


def device_read(device: DeviceRecord) -> DeviceRead:
    return DeviceRead.model_validate(device.model_dump(exclude={"token", "endpoint_arn"}))


@router.get("", response_model=NotificationPage, responses=error_responses(400, 401, 422, 503))
def list_notifications(
    user: CurrentUser,
    notifications: NotificationServiceDep,
    unread_only: Annotated[bool, Query(description="Only notifications not read yet.")] = False,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> NotificationPage:
    """The in-app feed, newest first."""
    items, next_cursor, watermark = notifications.page(
        user_id=user.user_id, unread_only=unread_only, limit=limit, cursor=cursor
    )
    return NotificationPage(items=[to_read(i, watermark) for i in items], next_cursor=next_cursor)


@router.post("/read-all", response_model=ReadAllResult, responses=error_responses(401, 422, 503))
def mark_all_read(user: CurrentUser, notifications: NotificationServiceDep) -> ReadAllResult:
    """Mark every notification read, however many pages the feed has."""
    return ReadAllResult(read_through=notifications.mark_all_read(user_id=user.user_id))


@router.post(
    "/{notification_id}/read", response_model=NotificationRead, responses=error_responses(401, 404, 422, 503)
)
def mark_read(
    notification_id: NotificationId, user: CurrentUser, notifications: NotificationServiceDep
) -> NotificationRead:
    return to_read(notifications.mark_read(user_id=user.user_id, notification_id=notification_id), None)


@router.delete(
    "/{notification_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 404, 422, 503),
)
def delete_notification(
    notification_id: NotificationId, user: CurrentUser, notifications: NotificationServiceDep
) -> Response:
    notifications.delete(user_id=user.user_id, notification_id=notification_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/devices",
    status_code=status.HTTP_201_CREATED,
    response_model=DeviceRead,
    responses=error_responses(401, 422, 503),
)
def register_device(
    body: DeviceCreate, user: CurrentUser, notifications: NotificationServiceDep
) -> DeviceRead:
    """Register a push token (the same token again refreshes the same device); 422 if the provider refuses it."""
    device = notifications.register_device(
        user_id=user.user_id, platform=body.platform, token=body.token, name=body.name
    )
    return device_read(device)


@router.get("/devices", response_model=DevicePage, responses=error_responses(400, 401, 422, 503))
def list_devices(user: CurrentUser, notifications: NotificationServiceDep) -> DevicePage:
    """The devices that receive push (at most 10, so one page)."""
    return DevicePage(items=[device_read(d) for d in notifications.devices(user_id=user.user_id)])


@router.delete(
    "/devices/{device_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 404, 422, 503),
)
def remove_device(device_id: DeviceId, user: CurrentUser, notifications: NotificationServiceDep) -> Response:
    notifications.remove_device(user_id=user.user_id, device_id=device_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
