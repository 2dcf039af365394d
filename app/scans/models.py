"""Stored scan records and the repository's refusal (no DynamoDB, no FastAPI)."""

from typing import Any, Literal

from pydantic import BaseModel, Field

ScanStatus = Literal["awaiting_upload", "queued", "processing", "completed", "failed", "expired"]


class ScanGoneError(Exception):
    """The scan or its user no longer accepts writes (deleted, deletion pending, or moved on)."""


class ScanRecord(BaseModel):
    user_id: str
    scan_id: str
    scan_date: str = Field(description="Creation time, ISO 8601 UTC (LSI sort key).")
    status: ScanStatus
    angles: list[str]
    upload_keys: dict[str, str] = Field(default_factory=dict)
    image_keys: dict[str, str] = Field(default_factory=dict)
    overlay_key: str | None = None
    created_at: str
    updated_at: str
    submitted_at: str | None = None
    processing_started_at: str | None = None
    lease_expires_at: str | None = None
    completed_at: str | None = None
    attempts: int = 0
    passed_quality: bool | None = None
    quality: dict[str, Any] | None = None
    scores: dict[str, float] | None = None
    analysis: dict[str, Any] | None = None
    deltas: dict[str, Any] | None = None
    failure: dict[str, Any] | None = None
    idempotency_key: str | None = None

    def regions(self) -> dict[str, dict[str, dict[str, float]]] | None:
        """angle → region → metric → score, from the stored analysis summary."""
        if not self.analysis:
            return None
        return {a["angle"]: a.get("regions", {}) for a in self.analysis.get("angles", [])}
