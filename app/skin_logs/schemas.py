"""Skin log requests and responses."""

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.core.schemas import ULID_PATTERN
from app.skin_logs.models import SLIDERS, Breakouts, SkinReaction

Slider = Annotated[int, Field(ge=0, le=100)]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
MIN_LOG_DATE = dt.date(2000, 1, 1)


class SkinLogCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date = Field(description="The day the log is about (the user's local date), not in the future.")
    breakouts: Breakouts | None = None
    dryness: Slider | None = Field(None, description="0 = not dry at all, 100 = very dry.")
    oiliness: Slider | None = Field(None, description="0 = not oily, 100 = very oily.")
    sensitivity: Slider | None = Field(None, description="0 = calm, 100 = very sensitive.")
    radiance: Slider | None = Field(None, description="0 = dull, 100 = glowing.")
    reaction: SkinReaction = Field(
        "none", description="mild/severe apply the plan's check-in rules to the active plan."
    )
    scan_id: str | None = Field(None, pattern=ULID_PATTERN, description="A scan of yours taken that day.")
    notes: Notes | None = None

    @model_validator(mode="after")
    def _rates_something(self) -> "SkinLogCreate":
        if self.breakouts is None and all(getattr(self, s) is None for s in SLIDERS):
            raise ValueError("rate at least one of breakouts, dryness, oiliness, sensitivity, radiance")
        return self


class SkinLogUpdate(BaseModel):
    """Only the fields sent change; null clears an optional field."""

    model_config = ConfigDict(extra="forbid")

    date: dt.date | None = None
    breakouts: Breakouts | None = None
    dryness: Slider | None = None
    oiliness: Slider | None = None
    sensitivity: Slider | None = None
    radiance: Slider | None = None
    reaction: SkinReaction | None = None
    scan_id: str | None = Field(None, pattern=ULID_PATTERN)
    notes: Notes | None = None

    @model_validator(mode="after")
    def _no_null_required(self) -> "SkinLogUpdate":
        for name in ("date", "reaction"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, as given (None = clear)."""
        return self.model_dump(exclude_unset=True)


class SkinLogRead(BaseModel):
    log_id: str
    date: str
    breakouts: Breakouts | None = None
    dryness: int | None = None
    oiliness: int | None = None
    sensitivity: int | None = None
    radiance: int | None = None
    reaction: SkinReaction
    scan_id: str | None = None
    notes: str | None = None
    cycle_day: int | None = Field(None, description="Set when you track cycles.")
    cycle_phase: str | None = Field(None, description="Set when you track cycles.")
    created_at: str
    updated_at: str


class SkinLogResult(SkinLogRead):
    """A written log, with the plan advice its reaction triggered (if any)."""

    advice: str | None = Field(None, description="Set when the reaction needs attention.")
    plan_id: str | None = Field(None, description="The active plan the reaction was applied to.")


class SkinLogPage(BaseModel):
    items: list[SkinLogRead]
    next_cursor: str | None = None


class SelfRatedStatistics(BaseModel):
    """The statistics' `self_rated` section: the user's own ratings, never scan scores."""

    window_days: int = Field(description="The section covers the user's last this many local days.")
    logs: int = Field(description="Skin logs in the window.")
    days_logged: int = Field(description="Distinct days with a log in the window.")
    latest_log_date: str | None = Field(None, description="The newest log's date (YYYY-MM-DD).")
    averages: dict[str, float] = Field(
        description="Mean self-rating (0-100, higher = more of it) of each slider rated in the window."
    )
    breakout_days: dict[str, int] = Field(description="Logs rating breakouts none / few / many.")
    mild_reactions: int
    severe_reactions: int
