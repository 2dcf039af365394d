"""Stored cycle records: period logs and the per-user slot that serialises their writes."""

from enum import StrEnum

from pydantic import BaseModel, Field

from app.core.security import UtcDateTime


class Flow(StrEnum):
    """How heavy a period was, as the user rates it."""

    LIGHT = "light"
    MEDIUM = "medium"
    HEAVY = "heavy"


class Symptom(StrEnum):
    """The symptoms a period log can carry (a fixed set, so clients can build a picker)."""

    CRAMPS = "cramps"
    BLOATING = "bloating"
    HEADACHE = "headache"
    BACKACHE = "backache"
    BREAST_TENDERNESS = "breast_tenderness"
    FATIGUE = "fatigue"
    NAUSEA = "nausea"
    MOOD_SWINGS = "mood_swings"
    ACNE = "acne"
    CRAVINGS = "cravings"
    INSOMNIA = "insomnia"


class PeriodRecord(BaseModel):
    """One logged period (records table, `period#<start_date>#<period_id>`)."""

    user_id: str
    period_id: str
    start_date: str
    end_date: str | None = None
    flow: Flow
    symptoms: list[Symptom] = Field(default_factory=list)
    created_at: UtcDateTime
    updated_at: UtcDateTime


class CycleSlot(BaseModel):
    """Records table `cycle#slot`: bumped by every period write (version 0 = never written)."""

    version: int = 0
