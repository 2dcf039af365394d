"""Journal request/response models."""

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.cycles.position import CyclePhase
from app.journal.models import Mood

MAX_TEXT = 4000
MAX_TAGS = 12
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT)]
Score = Annotated[int, Field(ge=0, le=100)]
SleepHours = Annotated[float, Field(ge=0, le=24)]


class JournalEntryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date = Field(description="The day the entry is about (not after today).")
    mood: Mood | None = None
    energy: Score | None = Field(None, description="0-100")
    stress: Score | None = Field(None, description="0-100")
    sleep_hours: SleepHours | None = Field(None, description="0-24")
    text: Text | None = Field(None, description=f"Up to {MAX_TEXT} characters.")
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)


class JournalEntryUpdate(BaseModel):
    """Only the fields sent change; null clears an optional field."""

    model_config = ConfigDict(extra="forbid")

    date: dt.date | None = None
    mood: Mood | None = None
    energy: Score | None = None
    stress: Score | None = None
    sleep_hours: SleepHours | None = None
    text: Text | None = None
    tags: list[Tag] | None = Field(None, max_length=MAX_TAGS)


class JournalEntryRead(BaseModel):
    entry_id: str
    date: str
    mood: Mood | None = None
    energy: int | None = None
    stress: int | None = None
    sleep_hours: float | None = None
    text: str | None = None
    tags: list[str]
    cycle_day: int | None = Field(None, description="Set when your period logs cover the date.")
    cycle_phase: CyclePhase | None = None
    created_at: str
    updated_at: str


class JournalPage(BaseModel):
    items: list[JournalEntryRead]
    next_cursor: str | None = None
