"""GET /insights/cycle response models."""

from typing import Any

from pydantic import BaseModel, Field

from app.cycles.position import CyclePhase


class PhaseFigureRead(BaseModel):
    phase: CyclePhase
    count: int = Field(description="Readings behind the figure.")
    average: float | None = None
    difference: float | None = Field(None, description="Phase average minus the overall average (points).")
    meaningful: bool = Field(
        description="True only when the difference is larger than the metric's noise and chance explain "
        "for this many readings (never from one or two)."
    )
    note: str


class MetricInsightRead(BaseModel):
    metric: str
    count: int
    overall_average: float
    noise: float = Field(description="One reading's noise (points) the test allows for.")
    phases: list[PhaseFigureRead]


class SourceInsightRead(BaseModel):
    kind: str = Field(description="scan (photo scores) or self_rated; kinds are never mixed.")
    readings: int
    positioned: int = Field(description="Readings whose date your period logs place in a phase.")
    metrics: list[MetricInsightRead]
    findings: list[str]


class CycleInsightRead(BaseModel):
    tracking: bool
    reason: str | None = None
    summary: str
    findings: list[str] = Field(description="Every meaningful difference, in plain words.")
    sources: list[SourceInsightRead]
    routine_step: dict[str, Any] | None = Field(
        None,
        description="A targeted PM step for the days before your period (ingredient, name, "
        "days_before_period, extra_nights, instructions, reason); only when your own scans show a "
        "meaningful luteal acne worsening and your active plan can take it.",
    )
