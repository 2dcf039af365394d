"""Progress over time: per-metric series, change since the first scan, weekly trend (pure)."""

from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar

from pydantic import BaseModel

from app.core.security import parse_iso
from app.core.vocabulary import METRICS_WITH_OVERALL
from app.providers.vision.noise import within_noise
from app.providers.vision.versions import comparable


class Scored(Protocol):
    """What progress needs of a scan: a stored record, or the scores-only projection."""

    @property
    def scan_id(self) -> str: ...
    @property
    def scan_date(self) -> str: ...
    @property
    def scores(self) -> Mapping[str, float] | None: ...
    @property
    def model_version(self) -> str | None: ...


SECONDS_PER_WEEK = 7 * 24 * 3600
STABLE_SLOPE = 0.5  # points/week below which a trend is called stable


class ProgressPoint(BaseModel):
    scan_id: str
    scan_date: str
    value: float


class MetricProgress(BaseModel):
    metric: str
    points: list[ProgressPoint]
    first: float | None
    latest: float | None
    change_since_first: float | None
    within_noise: bool | None = None  # change_since_first no larger than photo noise
    slope_per_week: float | None
    trend: str  # improving | worsening | stable | insufficient_data


def slope_per_week(points: list[ProgressPoint]) -> float | None:
    """Least-squares slope of value against time, in points per week; None under 2 distinct times."""
    if len(points) < 2:
        return None
    t0 = parse_iso(points[0].scan_date)
    xs = [(parse_iso(p.scan_date) - t0).total_seconds() / SECONDS_PER_WEEK for p in points]
    ys = [p.value for p in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


S = TypeVar("S", bound=Scored)


def on_current_scale(scans: Sequence[S], metric: str) -> list[S]:
    """The scans with `metric` scored on the newest one's scale: the series since the analyser
    last recalibrated it (an older score is a number on another scale, not a point of the trend)."""
    scored = [s for s in scans if s.scores and metric in s.scores]
    if not scored:
        return []
    newest = scored[-1].model_version
    start = len(scored)
    while start > 0 and comparable([metric], scored[start - 1].model_version, newest):
        start -= 1
    return scored[start:]


def metric_progress(scans: Sequence[Scored], metric: str) -> MetricProgress:
    points = [
        ProgressPoint(scan_id=s.scan_id, scan_date=s.scan_date, value=s.scores[metric])
        for s in on_current_scale(scans, metric)
        if s.scores
    ]
    slope = slope_per_week(points)
    if slope is None:
        trend = "insufficient_data"
    elif abs(slope) < STABLE_SLOPE:
        trend = "stable"
    else:
        trend = "improving" if slope > 0 else "worsening"
    first = points[0].value if points else None
    latest = points[-1].value if points else None
    change = round(latest - first, 1) if first is not None and latest is not None else None
    return MetricProgress(
        metric=metric,
        points=points,
        first=first,
        latest=latest,
        change_since_first=change,
        within_noise=(
            within_noise(metric, change, first, latest)
            if first is not None and latest is not None and change is not None and len(points) > 1
            else None
        ),
        slope_per_week=round(slope, 2) if slope is not None else None,
        trend=trend,
    )


def progress(scans: Sequence[Scored], metric: str | None) -> list[MetricProgress]:
    """Scans must be completed, quality-passed and oldest first."""
    metrics = [metric] if metric else list(METRICS_WITH_OVERALL)
    return [metric_progress(scans, m) for m in metrics]
