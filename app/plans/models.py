"""Stored plan records: the plan, its check-ins and the per-user plan slot (no DynamoDB)."""

from typing import Literal

from pydantic import BaseModel, Field

from app.core.security import UtcDateTime
from app.db.dynamodb import StoredDocument
from app.routine_engine.models import RoutinePlan

PlanStatus = Literal["active", "paused", "completed", "abandoned", "replaced"]


class PlanSlot(BaseModel):
    current_plan_id: str | None = None
    lock_until: str | None = None
    version: int = 0


class StoredReaction(StoredDocument):
    """A reaction reported with a check-in, as the user sent it."""

    severity: str
    description: str | None = None
    suspected_products: list[str] = Field(default_factory=list)


class CheckIn(BaseModel):
    date: str
    am_done: bool
    pm_done: bool
    skipped_steps: list[str] = Field(default_factory=list)
    reaction: StoredReaction | None = None
    recorded_at: UtcDateTime


class PlanRecord(BaseModel):
    user_id: str
    plan_id: str
    status: PlanStatus
    baseline_scan_id: str
    baseline_scores: dict[str, float]
    # The routine engine's own model: steps, night treatments, weekly schedule, reasoning.
    routine: RoutinePlan
    engine_version: str
    start_date: str
    lock_days: int
    lock_until: str
    created_at: UtcDateTime
    updated_at: UtcDateTime
    timezone: str = "UTC"
    override_reason: str | None = None
    replaces_plan_id: str | None = None
    replaced_by_plan_id: str | None = None
    ended_at: UtcDateTime | None = None
    checkins: dict[str, CheckIn] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
