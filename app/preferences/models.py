"""What the records table stores for a user's preferences (no DynamoDB here)."""

import re
from datetime import time
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.core.security import UtcDateTime

HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
LANGUAGE = r"^[a-z]{2}(-[A-Z]{2})?$"
Units = Literal["metric", "imperial"]


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_timezone(value: str | None) -> str | None:
    """An IANA zone name (e.g. `Europe/Paris`), or None for the profile's timezone."""
    if value is not None and value not in _zones():
        raise ValueError("not an IANA timezone name (e.g. 'Europe/Paris')")
    return value


def check_hhmm(value: str) -> str:
    """A 24-hour local time `HH:MM`."""
    if not HHMM.match(value):
        raise ValueError("a time as HH:MM (24-hour), e.g. 08:30")
    return value


def parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class NotificationSettings(BaseModel):
    """Which notifications are made, and where they go."""

    model_config = ConfigDict(extra="forbid")

    in_app: bool = Field(True, description="Keep notifications in the in-app feed.")
    push: bool = Field(True, description="Send them to the registered devices.")
    routine_reminders: bool = Field(True, description="AM/PM routine reminders (skipped once checked in).")
    rescan_reminders: bool = Field(True, description="A reminder when the next scan is due.")
    scan_updates: bool = Field(True, description="A scan's analysis finished or failed.")
    plan_updates: bool = Field(True, description="The plan's lock ended.")


class Preferences(BaseModel):
    """The user's preferences; every field has a default, so a user who never set any has them too."""

    model_config = ConfigDict(extra="forbid")

    am_reminder_time: str = Field("08:00", description="Local time (HH:MM) of the morning reminder.")
    pm_reminder_time: str = Field("21:00", description="Local time (HH:MM) of the evening reminder.")
    timezone: str | None = Field(
        None, max_length=64, description="IANA timezone of the reminders; null: the profile's timezone."
    )
    rescan_interval_days: int = Field(28, ge=7, le=90, description="Days between scans.")
    units: Units = "metric"
    language: str = Field("en", pattern=LANGUAGE, description="Language code, e.g. `en` or `pt-BR`.")
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    cloud_ai_opt_out: bool = Field(
        False, description="Never send my photos or messages to a cloud AI: use the offline analysers."
    )

    @field_validator("am_reminder_time", "pm_reminder_time")
    @classmethod
    def _check_time(cls, value: str) -> str:
        return check_hhmm(value)

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, value: str | None) -> str | None:
        return check_timezone(value)


class StoredPreferences(Preferences):
    """Preferences as stored: the document plus when it last changed (None: never set)."""

    model_config = ConfigDict(extra="ignore")

    updated_at: UtcDateTime | None = None
    version: int = 0

    def zone(self, profile_timezone: str | None) -> ZoneInfo:
        """The timezone reminders use: the preference, else the profile's, else UTC."""
        return ZoneInfo(self.timezone or profile_timezone or "UTC")
