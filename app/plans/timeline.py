"""Pure views of a plan in the user's own days: its timeline (lock, weeks, today's routine)
and adherence (completion, streak, reactions). Data in, data out: no I/O."""

import math
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.auth.models import UserRecord
from app.core.security import parse_iso, utc_now
from app.plans.models import PlanRecord
from app.routine_engine.builder import today as today_routine

PLAN_WEEKS = 4


def user_today(user: UserRecord, now: datetime) -> date:
    """The user's local date at `now` (check-ins and plan days are local days)."""
    return now.astimezone(ZoneInfo(user.timezone or "UTC")).date()


def plan_timeline(plan: PlanRecord, user: UserRecord, now: datetime | None = None) -> dict[str, Any]:
    """Computed fields: lock state, days elapsed/remaining, current week, today's routine."""
    now = now or utc_now()
    today = user_today(user, now)
    start = date.fromisoformat(plan.start_date)
    days_elapsed = max(0, (today - start).days)
    lock_until = parse_iso(plan.lock_until)
    seconds_left = (lock_until - now).total_seconds()
    days_remaining = max(0, math.ceil(seconds_left / 86400))
    current_week = min(PLAN_WEEKS, days_elapsed // 7 + 1)
    return {
        "is_locked": seconds_left > 0 and plan.status in {"active", "paused"},
        "days_elapsed": days_elapsed,
        "days_remaining": days_remaining,
        "current_week": current_week,
        "today": today_routine(plan.routine, week=current_week, weekday=today.weekday()),
    }


def timeline_holds_for(plan: PlanRecord, user: UserRecord, now: datetime) -> float:
    """Seconds until `plan_timeline` next changes: the user's next midnight (today's routine,
    days elapsed, week), the next whole day of the lock, or the lock's end."""
    zone = ZoneInfo(user.timezone or "UTC")
    local = now.astimezone(zone)
    next_midnight = datetime.combine(local.date() + timedelta(days=1), time.min, tzinfo=zone)
    until = (next_midnight - now).total_seconds()
    seconds_left = (parse_iso(plan.lock_until) - now).total_seconds()
    if seconds_left > 0:
        # days_remaining = ceil(seconds_left / 1 day) drops when seconds_left reaches the day below.
        until = min(until, seconds_left - (math.ceil(seconds_left / 86400) - 1) * 86400)
    return max(0.0, until)


def adherence(plan: PlanRecord, user: UserRecord, now: datetime | None = None) -> dict[str, Any]:
    """AM/PM completion over the plan's days so far, the current streak, reported reactions."""
    today = user_today(user, now or utc_now())
    start = date.fromisoformat(plan.start_date)
    end = today
    if plan.ended_at:
        # The user's local day the plan ended on: check-ins are dated in local days too.
        end = min(today, user_today(user, plan.ended_at))
    days = max(1, (end - start).days + 1)
    checkins = plan.checkins
    am_done = sum(1 for c in checkins.values() if c.am_done)
    pm_done = sum(1 for c in checkins.values() if c.pm_done)
    streak = 0
    cursor = end
    if cursor.isoformat() not in checkins:
        cursor -= timedelta(days=1)  # today not logged yet does not break the streak
    while (c := checkins.get(cursor.isoformat())) and c.am_done and c.pm_done:
        streak += 1
        cursor -= timedelta(days=1)
    reactions = [
        {"date": c.date, **(c.reaction.model_dump() if c.reaction else {})}
        for c in sorted(checkins.values(), key=lambda c: c.date)
        if c.reaction
    ]
    return {
        "plan_id": plan.plan_id,
        "days_tracked": days,
        "checkins": len(checkins),
        "am_percent": round(100 * am_done / days, 1),
        "pm_percent": round(100 * pm_done / days, 1),
        "streak_days": streak,
        "reactions": reactions,
        "severe_reaction_reported": any(r.get("severity") == "severe" for r in reactions),
    }
