"""Stored consultation records (no DynamoDB, no FastAPI)."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.core.security import UtcDateTime

# pending: the report exists but the mail to the dermatologist has not gone out (yet);
# sent: the mail went out (this is what "sent" means for rating); cancelled: by the user.
ConsultationStatus = Literal["pending", "sent", "cancelled"]


class ConsultationRating(BaseModel):
    rating: int = Field(ge=1, le=5)
    comment: str | None = None
    rated_at: UtcDateTime


class ConsultationRecord(BaseModel):
    user_id: str
    consultation_id: str
    status: ConsultationStatus
    dermatologist_id: str
    # A copy of the entry's name and contact when the request was made: the operator may
    # replace the directory later, and the request stays readable.
    dermatologist_name: str
    dermatologist_email: str
    reason: str
    scan_ids: list[str]
    report_key: str
    report_pages: int
    report_bytes: int
    # The secret part of the report link: the link names it, so a new nonce (or none) kills old links.
    report_nonce: str
    report_expires_at: UtcDateTime
    created_at: UtcDateTime
    updated_at: UtcDateTime
    sent_at: UtcDateTime | None = None
    send_attempts: int = 0
    last_send_error: str | None = None
    cancelled_at: UtcDateTime | None = None
    rating: ConsultationRating | None = None

    def link_state(self, now: datetime) -> Literal["active", "expired", "cancelled"]:
        """Whether the report link works right now."""
        if self.status == "cancelled":
            return "cancelled"
        return "active" if now < self.report_expires_at else "expired"
