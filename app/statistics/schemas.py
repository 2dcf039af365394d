"""Response shape of /users/me/statistics: one object per section."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from app.skin_logs.schemas import SelfRatedStatistics


class MetricChange(BaseModel):
    metric: str
    change: float = Field(
        description="Latest minus first score on the analyser's current scale (positive = healthier)."
    )


class MetricScore(BaseModel):
    metric: str
    score: float


class ScanStatistics(BaseModel):
    scans_done: int = Field(description="Completed scans that passed the photo checks.")
    first_scan_at: str | None
    latest_scan_at: str | None
    first_overall: float | None
    latest_overall: float | None
    overall_change: float | None
    overall_within_noise: bool | None = Field(
        None,
        description="True when overall_change is no larger than photo-to-photo noise (no real change "
        "yet); null when there is no change to judge.",
    )
    best_improving_metric: MetricChange | None = Field(
        description="The metric that gained most since the first scan, of those whose gain is larger "
        "than photo-to-photo noise; null when none is (no real improvement yet)."
    )
    worst_metric: MetricScore | None = Field(description="The lowest-scoring metric of the latest scan.")


class PlanStatistics(BaseModel):
    has_active_plan: bool
    plan_id: str | None = None
    am_percent: float | None = Field(None, description="Share of the plan's days with the AM routine done.")
    pm_percent: float | None = None
    adherence_percent: float | None = Field(None, description="Mean of the AM and PM completion.")
    current_streak_days: int = 0
    days_until_unlock: int | None = Field(None, description="0 once the lock has ended.")


class RescanStatistics(BaseModel):
    rescan_interval_days: int
    next_rescan_due_date: date | None = Field(None, description="Local date; null before the first scan.")
    days_until_rescan: int | None = Field(None, description="0 when due today or overdue.")
    overdue: bool = False


class StatisticsRead(BaseModel):
    """Every section's numbers; sections added later appear as more keys."""

    model_config = ConfigDict(extra="allow")

    generated_at: datetime
    scans: ScanStatistics
    plan: PlanStatistics
    rescan: RescanStatistics
    self_rated: SelfRatedStatistics | None = Field(
        None, description="The user's own skin-log ratings of the last 30 days (kept apart from scan scores)."
    )
