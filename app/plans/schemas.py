"""Plan, check-in and adherence models."""

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.schemas import ULID_PATTERN
from app.plans.models import PlanStatus

StepName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class PlanCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"scan_id": "01J9Z3M6W5T6Y8Q2R4S5V7X9Z0"}]}
    )

    scan_id: str | None = Field(
        None, pattern=ULID_PATTERN, description="Defaults to the latest completed scan."
    )
    override_reason: Literal["adverse_reaction"] | None = Field(
        None, description="Replace a locked plan because the skin reacted badly to it."
    )


class PlanStatusUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["active", "paused", "completed", "abandoned"]


class Reaction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: Literal["mild", "moderate", "severe"]
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    suspected_products: list[StepName] = Field(default_factory=list, max_length=10)


class CheckInCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"date": "2026-12-01", "am_done": True, "pm_done": False, "skipped_steps": []}]
        },
    )

    date: date
    am_done: bool
    pm_done: bool
    skipped_steps: list[StepName] = Field(default_factory=list, max_length=20)
    reaction: Reaction | None = None


class CheckInRead(BaseModel):
    date: str
    am_done: bool
    pm_done: bool
    skipped_steps: list[str]
    reaction: dict[str, Any] | None = None
    recorded_at: str


class CheckInResult(BaseModel):
    checkin: CheckInRead
    advice: str | None = Field(None, description="Set when the reaction needs attention.")
    referral_url: str | None = Field(
        None, description="With a severe reaction: the dermatologist directory, to request a consultation."
    )


class PlanRead(BaseModel):
    plan_id: str
    status: PlanStatus
    baseline_scan_id: str
    baseline_scores: dict[str, float]
    start_date: str
    lock_days: int
    lock_until: str
    created_at: str
    updated_at: str
    ended_at: str | None = None
    override_reason: str | None = None
    replaces_plan_id: str | None = None
    replaced_by_plan_id: str | None = None
    engine_version: str
    routine: dict[str, Any] = Field(
        description="AM/PM steps, weekly schedule, reasoning (routine engine output)"
    )
    warnings: list[str]
    is_locked: bool
    days_elapsed: int
    days_remaining: int
    current_week: int
    today: dict[str, Any] = Field(description="Today's AM and PM steps with tonight's active")


class PlanSummary(BaseModel):
    plan_id: str
    status: PlanStatus
    start_date: str
    lock_until: str
    baseline_scan_id: str
    created_at: str
    override_reason: str | None = None


class PlanPage(BaseModel):
    items: list[PlanSummary]
    next_cursor: str | None = None


class AdherenceRead(BaseModel):
    plan_id: str
    days_tracked: int
    checkins: int
    am_percent: float
    pm_percent: float
    streak_days: int
    reactions: list[dict[str, Any]]
    severe_reaction_reported: bool
