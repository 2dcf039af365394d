"""Consultation and directory request/response models."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.consultations.directory import DIRECTORY_ID_PATTERN
from app.core.schemas import ULID_PATTERN

ScanRef = Annotated[str, StringConstraints(pattern=ULID_PATTERN)]


class DermatologistRead(BaseModel):
    id: str
    name: str
    specialties: list[str]
    languages: list[str]
    city: str
    country: str
    contact: dict[str, str | None]
    accepts_teleconsultation: bool


class DermatologistPage(BaseModel):
    items: list[DermatologistRead]
    next_cursor: str | None = None


class ConsultationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dermatologist_id: str = Field(pattern=DIRECTORY_ID_PATTERN, description="An `id` from the directory.")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000)]
    scan_ids: list[ScanRef] = Field(
        min_length=1,
        max_length=6,
        description="1-6 of your completed scans to include (photos, overlay, scores).",
    )

    @field_validator("scan_ids")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each scan may be listed once")
        return value


class ConsultationRate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: int = Field(ge=1, le=5)
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None


class DermatologistRef(BaseModel):
    id: str
    name: str


class ReportRead(BaseModel):
    url: str | None = Field(
        None, description="The link for the dermatologist (no sign-in); null once it stopped."
    )
    link_state: Literal["active", "expired", "cancelled"]
    expires_at: str
    pages: int
    bytes: int


class RatingRead(BaseModel):
    rating: int
    comment: str | None = None
    rated_at: str


class ConsultationRead(BaseModel):
    consultation_id: str
    status: Literal["pending", "sent", "cancelled"] = Field(
        description="pending: the mail to the dermatologist has not gone out yet; sent: it has."
    )
    dermatologist: DermatologistRef
    reason: str
    scan_ids: list[str]
    report: ReportRead
    created_at: str
    updated_at: str
    sent_at: str | None = None
    cancelled_at: str | None = None
    send_attempts: int
    last_send_error: str | None = None
    rating: RatingRead | None = None


class ConsultationPage(BaseModel):
    items: list[ConsultationRead]
    next_cursor: str | None = None
