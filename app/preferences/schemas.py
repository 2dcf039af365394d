"""Request and response shapes of /users/me/preferences."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.preferences.models import (
    LANGUAGE,
    NotificationSettings,
    Preferences,
    Units,
    check_hhmm,
    check_timezone,
)


class PreferencesRead(Preferences):
    """The preferences, with the timezone reminders actually use."""

    effective_timezone: str = Field(description="`timezone`, else the profile's timezone, else UTC.")
    updated_at: datetime | None = Field(None, description="Null until the user first saves preferences.")


class PreferencesReplace(Preferences):
    """PUT: the whole document; a field left out goes back to its default."""


def _refuse_nulls(data: Any, *, nullable: frozenset[str] = frozenset()) -> Any:
    # In a PATCH, `null` is a value only where the field can be empty (the timezone).
    if isinstance(data, dict):
        nulls = sorted(k for k, v in data.items() if v is None and k not in nullable)
        if nulls:
            raise ValueError(f"these fields cannot be null: {', '.join(nulls)}")
    return data


class NotificationSettingsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        return _refuse_nulls(data)

    in_app: bool | None = None
    push: bool | None = None
    routine_reminders: bool | None = None
    rescan_reminders: bool | None = None
    scan_updates: bool | None = None
    plan_updates: bool | None = None


class PreferencesPatch(BaseModel):
    """PATCH: only the fields sent change (`timezone: null` goes back to the profile's timezone)."""

    model_config = ConfigDict(extra="forbid")

    am_reminder_time: str | None = None
    pm_reminder_time: str | None = None
    timezone: str | None = Field(None, max_length=64)
    rescan_interval_days: int | None = Field(None, ge=7, le=90)
    units: Units | None = None
    language: str | None = Field(None, pattern=LANGUAGE)
    notifications: NotificationSettingsPatch | None = None
    cloud_ai_opt_out: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _null_only_for_timezone(cls, data: Any) -> Any:
        # `null` means "back to the profile's timezone"; for every other field it is no value.
        return _refuse_nulls(data, nullable=frozenset({"timezone"}))

    @field_validator("am_reminder_time", "pm_reminder_time")
    @classmethod
    def _check_time(cls, value: str | None) -> str | None:
        return None if value is None else check_hhmm(value)

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, value: str | None) -> str | None:
        return check_timezone(value)


__all__ = ["NotificationSettings", "PreferencesPatch", "PreferencesRead", "PreferencesReplace"]
