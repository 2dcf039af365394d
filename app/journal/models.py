"""Stored journal entries (records table, `journal#<date>#<entry_id>`)."""

from enum import StrEnum

from pydantic import BaseModel, Field

from app.core.security import UtcDateTime


class Mood(StrEnum):
    """The moods a journal entry can carry (an enum in the OpenAPI document, for a picker)."""

    GREAT = "great"
    GOOD = "good"
    OKAY = "okay"
    LOW = "low"
    SAD = "sad"
    ANXIOUS = "anxious"
    STRESSED = "stressed"
    IRRITABLE = "irritable"
    TIRED = "tired"
    CALM = "calm"


class JournalEntryRecord(BaseModel):
    user_id: str
    entry_id: str
    date: str
    mood: Mood | None = None
    energy: int | None = None
    stress: int | None = None
    sleep_hours: float | None = None
    text: str | None = None
    tags: list[str] = Field(default_factory=list)
    created_at: UtcDateTime
    updated_at: UtcDateTime
