"""Stored scan records and the repository's refusal (no DynamoDB, no FastAPI)."""

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from app.core.security import UtcDateTime
from app.db.dynamodb import StoredDocument

ScanStatus = Literal["awaiting_upload", "queued", "processing", "completed", "failed", "expired"]


@dataclass(frozen=True)
class ScoredScan:
    """A completed scan's id, date, scores and the analyser version that scored it (all a
    statistic or an insight needs of it)."""

    scan_id: str
    scan_date: str
    scores: dict[str, float]
    model_version: str | None = None


class ScanGoneError(Exception):
    """The scan or its user no longer accepts writes (deleted, deletion pending, or moved on)."""


class StoredProblem(StoredDocument):
    code: str
    message: str


class StoredQuality(StoredDocument):
    """One photo's quality report as the vision provider gave it."""

    passed: bool
    face_found: bool
    face_fraction: float = 0.0
    sharpness: float = 0.0
    brightness: float = 0.0
    width: int = 0
    height: int = 0
    problems: list[StoredProblem] = Field(default_factory=list)


class StoredBox(StoredDocument):
    x: int
    y: int
    w: int
    h: int


class AngleSummary(StoredDocument):
    """One photo's result: scores, region scores (region → metric → score), raw measurements."""

    angle: str
    scores: dict[str, float] = Field(default_factory=dict)
    regions: dict[str, dict[str, float]] = Field(default_factory=dict)
    measurements: dict[str, float] = Field(default_factory=dict)
    face_box: StoredBox | None = None


class AnalysisSummary(StoredDocument):
    """What the analysis worker keeps of a provider's result."""

    provider: str
    model_version: str
    angles: list[AngleSummary] = Field(default_factory=list)


class ScoreDelta(StoredDocument):
    """Changes against one earlier scan (positive = healthier)."""

    scan_id: str
    scan_date: str
    changes: dict[str, float] = Field(default_factory=dict)
    # metric → the change is no larger than photo-to-photo noise (absent on older items)
    within_noise: dict[str, bool] = Field(default_factory=dict)


class ScanDeltas(StoredDocument):
    previous: ScoreDelta | None = None
    baseline: ScoreDelta | None = None


class ScanFailureRecord(StoredDocument):
    code: str
    message: str
    problems: list[StoredProblem] | None = None


class ScanIdempotencyGuard(BaseModel):
    """Records-table item naming the scan an idempotency key created, until it expires."""

    scan_id: str
    expires_at_epoch: int | None = None

    def live(self, now_epoch: int) -> bool:
        """Still names the scan (expiry is also left to the table's TTL, which lags)."""
        return (self.expires_at_epoch or 0) >= now_epoch


class ScanRecord(BaseModel):
    user_id: str
    scan_id: str
    scan_date: str = Field(description="Creation time, ISO 8601 UTC (LSI sort key).")
    status: ScanStatus
    angles: list[str]
    upload_keys: dict[str, str] = Field(default_factory=dict)
    image_keys: dict[str, str] = Field(default_factory=dict)
    overlay_key: str | None = None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    submitted_at: UtcDateTime | None = None
    processing_started_at: UtcDateTime | None = None
    lease_expires_at: UtcDateTime | None = None
    completed_at: UtcDateTime | None = None
    attempts: int = 0
    passed_quality: bool | None = None
    quality: dict[str, StoredQuality] | None = None
    scores: dict[str, float] | None = None
    analysis: AnalysisSummary | None = None
    deltas: ScanDeltas | None = None
    failure: ScanFailureRecord | None = None
    idempotency_key: str | None = None
    # Cycle day and phase on the scan's date, set at completion for users who log periods.
    cycle_day: int | None = None
    cycle_phase: str | None = None

    @property
    def model_version(self) -> str | None:
        """The analyser version that scored this scan (None before any analysis)."""
        return self.analysis.model_version if self.analysis else None

    def regions(self) -> dict[str, dict[str, dict[str, float]]] | None:
        """angle → region → metric → score, from the stored analysis summary."""
        if not self.analysis:
            return None
        return {a.angle: a.regions for a in self.analysis.angles}
