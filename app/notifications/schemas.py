"""Request and response shapes of /notifications."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.core.schemas import Page
from app.notifications.models import NotificationKind, Platform


class NotificationRead(BaseModel):
    notification_id: str
    kind: NotificationKind
    title: str
    body: str
    data: dict[str, str] = Field(description="Ids and links to open: scan_id, plan_id, link, referral_url.")
    created_at: datetime
    read: bool
    read_at: datetime | None = None


class NotificationPage(Page[NotificationRead]):
    pass


class ReadAllResult(BaseModel):
    read_through: str | None = Field(description="Every notification up to this id now counts as read.")


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: Platform
    token: str = Field(
        min_length=8, max_length=4096, pattern=r"^[\x21-\x7e]+$", description="APNs or FCM token."
    )
    name: str | None = Field(
        None, max_length=80, description="A label the user recognises, e.g. 'Ada's phone'."
    )


class DeviceRead(BaseModel):
    device_id: str
    platform: Platform
    name: str | None
    created_at: datetime
    updated_at: datetime


class DevicePage(Page[DeviceRead]):
    pass
