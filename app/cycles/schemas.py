"""Period-log, prediction and today request/response models."""

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from app.cycles.models import Flow, Symptom
from app.cycles.position import CyclePhase


class PeriodCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_date: dt.date = Field(description="First day of bleeding (not in the future).")
    end_date: dt.date | None = Field(None, description="Last day; leave out while the period lasts.")
    flow: Flow = Flow.MEDIUM
    symptoms: list[Symptom] = Field(default_factory=list, max_length=len(Symptom))


class PeriodUpdate(BaseModel):
    """Only the fields sent change; `end_date: null` clears the end."""

    model_config = ConfigDict(extra="forbid")

    start_date: dt.date | None = None
    end_date: dt.date | None = None
    flow: Flow | None = None
    symptoms: list[Symptom] | None = Field(None, max_length=len(Symptom))


class PeriodRead(BaseModel):
    period_id: str
    start_date: str
    end_date: str | None = None
    flow: Flow
    symptoms: list[Symptom]
    created_at: str
    updated_at: str


class PeriodPage(BaseModel):
    items: list[PeriodRead]
    next_cursor: str | None = None


class OvulationEstimate(BaseModel):
    date: dt.date = Field(description="Estimated ovulation: 14 days before the predicted start.")
    fertile_window_start: dt.date
    fertile_window_end: dt.date
    is_estimate: bool = True


class PredictedPeriodRead(BaseModel):
    start_date: dt.date = Field(description="The most likely first day.")
    window_start: dt.date
    window_end: dt.date
    ovulation_estimate: OvulationEstimate


class PredictionsRead(BaseModel):
    predictions: list[PredictedPeriodRead] = Field(description="The next (up to) 3 periods, soonest first.")
    confidence: str = Field(description="high, medium or low")
    insufficient_history: bool = Field(description="Fewer than 3 complete ordinary cycles logged.")
    reason: str | None = Field(
        None, description="Why predictions are missing or weak: no_periods_logged, insufficient_history."
    )
    cycle_length_days: float | None = None
    spread_days: float | None = None
    cycles_used: int = 0
    outlier_cycles: list[int] = Field(
        default_factory=list, description="Cycle lengths left out (e.g. a missed or unlogged period)."
    )
    disclaimer: str


class CycleTodayRead(BaseModel):
    date: dt.date
    tracking: bool = Field(description="False when no logged period covers today.")
    cycle_day: int | None = None
    phase: CyclePhase | None = None
    reason: str | None = None
