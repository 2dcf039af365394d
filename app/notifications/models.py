"""What the records table stores for notifications: feed items, devices, schedule entries."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.security import UtcDateTime

NotificationKind = Literal[
    "scan_completed",
    "scan_failed",
    "plan_unlocked",
    "rescan_due",
    "routine_am",
    "routine_pm",
    "severe_reaction",
]
Platform = Literal["ios", "android"]


class NotificationRecord(BaseModel):
    """One feed item."""

    model_config = ConfigDict(extra="ignore")

    notification_id: str
    kind: NotificationKind
    title: str
    body: str
    # Ids and links the app opens (scan_id, plan_id, link, referral_url): strings only.
    data: dict[str, str] = Field(default_factory=dict)
    created_at: UtcDateTime
    read_at: UtcDateTime | None = None


class DeviceRecord(BaseModel):
    """A device registered for push: its token, and the provider's endpoint for it."""

    model_config = ConfigDict(extra="ignore")

    device_id: str
    platform: Platform
    token: str
    name: str | None = None
    endpoint_arn: str | None = None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class FeedState(BaseModel):
    """Every notification with an id up to `read_before` counts as read (mark all read = one write)."""

    model_config = ConfigDict(extra="ignore")

    read_before: str | None = None


class ScheduleRefs(BaseModel):
    """Entry name (am, pm, rescan_due, plan_unlocked) → the index partition it sits in."""

    model_config = ConfigDict(extra="ignore")

    entries: dict[str, str] = Field(default_factory=dict)


class ScheduleEntry(BaseModel):
    """One item of the schedule index: whose, which reminder, and (one-offs) about what."""

    model_config = ConfigDict(extra="ignore")

    partition: str
    owner_id: str
    name: str
    ref: str | None = None
