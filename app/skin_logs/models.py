"""Stored skin logs (records table; no DynamoDB here)."""

from typing import Any, Literal

from pydantic import BaseModel

from app.core.security import UtcDateTime

Breakouts = Literal["none", "few", "many"]
SkinReaction = Literal["none", "mild", "severe"]
SLIDERS = ("dryness", "oiliness", "sensitivity", "radiance")
"""The 0-100 self-rated sliders of a log (higher = more of it)."""


class SkinLogRecord(BaseModel):
    """One self-rated day: what the user felt, not what a photo measured."""

    user_id: str
    log_id: str
    log_date: str  # YYYY-MM-DD, the user's local day
    breakouts: Breakouts | None = None
    dryness: int | None = None
    oiliness: int | None = None
    sensitivity: int | None = None
    radiance: int | None = None
    reaction: SkinReaction = "none"
    scan_id: str | None = None
    notes: str | None = None
    # Filled by the server from the cycles domain, only when the user tracks cycles.
    cycle_day: int | None = None
    cycle_phase: str | None = None
    created_at: UtcDateTime
    updated_at: UtcDateTime


def to_public(data: dict[str, Any]) -> dict[str, Any]:
    """A stored log's JSON fields under their API names (no owner id)."""
    data.pop("user_id", None)
    data["date"] = data.pop("log_date")
    return data
