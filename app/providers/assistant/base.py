"""The assistant contract: every provider answers from the same grounded context.

The context holds only derived numbers and text about the user (profile, latest scores
and deltas, today's routine, adherence, recent turns), never photos. Safety rules (red
flags, "not medical advice") are applied by `app.providers.assistant.safety` around every
provider, so a provider cannot forget them.
"""

from collections.abc import AsyncIterator
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from app.core.errors import DependencyUnavailableError


class ChatProviderError(DependencyUnavailableError):
    """The assistant backend failed (down, timed out, rate limited, or answered nonsense)."""

    code = "assistant_unavailable"
    message = "The assistant is unavailable right now; try again shortly."


class ChatTurn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class ChatContext(BaseModel):
    """What the assistant knows about this user right now."""

    profile: dict[str, Any] = Field(
        default_factory=dict,
        description="full_name, skin_type, concerns, sensitivities, pregnant_or_breastfeeding, age",
    )
    latest_scan: dict[str, Any] | None = Field(
        None, description="scan_id, scan_date, scores (metric → 0-100, higher = healthier), deltas"
    )
    plan: dict[str, Any] | None = Field(
        None,
        description="plan_id, status, current_week, days_elapsed, days_remaining, is_locked, "
        "today {am: [steps], pm: [steps], night_active}, warnings",
    )
    adherence: dict[str, Any] | None = Field(
        None, description="am_percent, pm_percent, streak_days, reactions"
    )
    skin_logs: list[dict[str, Any]] | None = Field(
        None,
        description="the user's recent self-rated skin logs, newest first: date, breakouts "
        "(none/few/many), dryness/oiliness/sensitivity/radiance (0-100, higher = more of it), "
        "reaction, notes, cycle_day/cycle_phase (self-rated, never scan scores)",
    )
    cycle: dict[str, Any] | None = Field(
        None,
        description="only for users who log periods: today {cycle_day, phase}, next_period "
        "{start_date, window_start, window_end}, insight {findings: [sentences], meaningful: "
        "[{kind, metric, phase, difference, count}], scans_positioned}, routine_step (a targeted PM "
        "step for the days before a period, only when the insight is meaningful)",
    )
    history: list[ChatTurn] = Field(default_factory=list, description="recent turns, oldest first")
    today: str | None = Field(None, description="the user's local date (YYYY-MM-DD)")
    request: dict[str, Any] | None = Field(
        None,
        description="how DermaLens understood the message: intent, ingredients, metrics, areas, "
        "time_of_day, pregnancy, red_flags, referent (see chat_ai.understanding.Request)",
    )


class ChatReply(BaseModel):
    content: str
    provider: str
    intent: str | None = None


class ChatProvider(Protocol):
    """Answer one user message; `stream` yields the same answer in pieces."""

    name: str

    async def reply(self, *, message: str, context: ChatContext) -> ChatReply: ...

    def stream(self, *, message: str, context: ChatContext) -> AsyncIterator[str]: ...
