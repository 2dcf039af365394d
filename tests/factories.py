"""Stored records for repository and unit tests, built directly (no HTTP, no password hashing).

Shared by every test folder so no test file imports another.
"""

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from app.auth.repository import UserRecord
from app.chat.repository import ChatMessageRecord, ChatSessionRecord
from app.core.security import iso, new_id, utc_now
from app.plans.repository import CheckIn, PlanRecord
from app.routine_engine.builder import build_plan
from app.routine_engine.models import EngineProfile
from app.scans.repository import ScanRecord

SCORES = {"acne": 55.0, "redness": 62.5, "hydration": 48.0, "overall": 58.0}


def user_record(*, email: str | None = None, timezone: str = "UTC", **fields: Any) -> UserRecord:
    """A user as the auth service stores it (the hash is a placeholder: no sign-in goes through it)."""
    user_id = new_id()
    now = iso(utc_now())
    return UserRecord(
        user_id=user_id,
        email=email or f"repo-{user_id.lower()}@example.com",
        password_hash="not-a-real-hash",
        timezone=timezone,
        created_at=now,
        updated_at=now,
        **fields,
    )


def scan_record(
    *, user_id: str, status: str = "awaiting_upload", created: datetime | None = None, **fields: Any
) -> ScanRecord:
    """A scan created at `created` (its scan date), in the given state."""
    moment = iso(created or utc_now())
    values: dict[str, Any] = {
        "user_id": user_id,
        "scan_id": new_id(),
        "scan_date": moment,
        "status": status,
        "angles": ["front"],
        "created_at": moment,
        "updated_at": moment,
    }
    if status == "completed":
        values.update(passed_quality=True, scores=dict(SCORES), completed_at=moment)
    values.update(fields)
    return ScanRecord(**values)


@lru_cache
def _routine() -> dict[str, Any]:
    plan = build_plan(profile=EngineProfile(skin_type="oily", concerns=["acne"]), scores=SCORES)
    return plan.model_dump(mode="json")


def plan_record(
    *,
    user_id: str,
    created: datetime | None = None,
    start_date: str | None = None,
    lock_days: int = 28,
    status: str = "active",
    timezone: str = "UTC",
    **fields: Any,
) -> PlanRecord:
    """A plan as the plan service builds it: started `created` (default now), locked `lock_days`."""
    moment = created or utc_now()
    routine = _routine()
    return PlanRecord(
        user_id=user_id,
        plan_id=new_id(),
        status=status,
        baseline_scan_id=new_id(),
        baseline_scores=dict(SCORES),
        routine=routine,
        engine_version=routine["engine_version"],
        start_date=start_date or moment.date().isoformat(),
        lock_days=lock_days,
        lock_until=iso(moment + timedelta(days=lock_days)),
        created_at=iso(moment),
        updated_at=iso(moment),
        timezone=timezone,
        **fields,
    )


def checkin(day: str, *, am: bool = True, pm: bool = True, reaction: dict | None = None) -> CheckIn:
    return CheckIn(date=day, am_done=am, pm_done=pm, reaction=reaction, recorded_at=f"{day}T21:00:00Z")


def chat_turn(*, user_id: str, session_id: str, text: str = "hello") -> list[ChatMessageRecord]:
    """A user message and the assistant's answer, ids in creation order."""
    now = iso(utc_now())
    return [
        ChatMessageRecord(
            user_id=user_id,
            message_id=new_id(),
            session_id=session_id,
            role=role,
            content=f"{text} ({role})",
            created_at=now,
        )
        for role in ("user", "assistant")
    ]


def chat_session(*, user_id: str, session_id: str, preview: str = "hello") -> ChatSessionRecord:
    now = iso(utc_now())
    return ChatSessionRecord(
        user_id=user_id,
        session_id=session_id,
        title="A question",
        created_at=now,
        last_activity_at=now,
        last_message_preview=preview,
        message_count=0,
    )
