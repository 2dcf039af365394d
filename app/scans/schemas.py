"""Scan and progress request/response models."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.core.vocabulary import ScanAngle
from app.providers.storage.base import UploadTarget
from app.scans.models import ScanStatus
from app.scans.progress import MetricProgress


class ScanCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"angles": ["front", "left", "right"]}]}
    )

    angles: list[ScanAngle] = Field(
        default_factory=lambda: [ScanAngle.FRONT],
        min_length=1,
        max_length=3,
        description="`front` is required; leave the field out for a front photo only.",
    )


class UploadInstruction(UploadTarget):
    angle: ScanAngle


class ScanCreated(BaseModel):
    scan_id: str
    status: ScanStatus
    uploads: list[UploadInstruction]


class ScanFailure(BaseModel):
    code: str
    message: str
    problems: list[dict[str, str]] | None = None


class ScanRead(BaseModel):
    scan_id: str
    status: ScanStatus = Field(
        description="awaiting_upload → queued → processing → completed | failed; "
        "awaiting_upload → expired when the photos are never submitted"
    )
    angles: list[str]
    scan_date: str
    created_at: str
    updated_at: str
    submitted_at: str | None = None
    completed_at: str | None = None
    passed_quality: bool | None = None
    quality: dict[str, Any] | None = Field(None, description="angle → quality report")
    scores: dict[str, float] | None = Field(None, description="metric → 0-100, higher = healthier")
    regions: dict[str, dict[str, dict[str, float]]] | None = Field(
        None, description="angle → region → metric → score"
    )
    deltas: dict[str, Any] | None = Field(
        None,
        description="changes against the previous scan and the plan baseline: each has scan_id, "
        "scan_date, changes (metric → points) and within_noise (metric → true when the change is "
        "no larger than photo-to-photo noise, i.e. no real change yet)",
    )
    failure: ScanFailure | None = None
    image_urls: dict[str, str] = Field(
        default_factory=dict,
        description="angle → short-lived download link to the stored JPEG; a photo the phone "
        "stored turned carries its EXIF orientation (display it applied, as platform image views do)",
    )
    overlay_url: str | None = Field(
        None,
        description="The annotated front photo (JPEG, at most 1600 px on its long side); set once "
        "the scan is completed, when the file already exists.",
    )
    # Users who do not track their cycle see no cycle fields at all (not nulls).
    cycle_day: int | None = Field(
        None,
        description="Cycle day at scan time; only present for users who log their periods.",
        exclude_if=lambda value: value is None,
    )
    cycle_phase: str | None = Field(
        None,
        description="menstrual, follicular, ovulation or luteal at scan time (users who log periods).",
        exclude_if=lambda value: value is None,
    )


class ScanPage(BaseModel):
    items: list[ScanRead]
    next_cursor: str | None = None


class ProgressRead(BaseModel):
    date_from: date | None = Field(None, alias="from")
    date_to: date | None = Field(None, alias="to")
    scan_count: int
    metrics: list[MetricProgress]

    model_config = ConfigDict(populate_by_name=True)


@dataclass(frozen=True)
class ScanView:
    """A scan as the routes answer it; `read.image_urls` are as storage hands them out (the
    local backend's are app-relative) and the router adds the overlay link when there is one."""

    read: ScanRead
    has_overlay: bool
