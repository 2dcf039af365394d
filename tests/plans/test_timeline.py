"""A plan's computed timeline without HTTP: lock state, days elapsed/remaining, week, today."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.plans.timeline import PLAN_WEEKS, plan_timeline, timeline_holds_for
from tests.factories import plan_record, user_record

CREATED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


def at(**delta: float) -> datetime:
    return CREATED + timedelta(**delta)


def test_a_new_plan_is_locked_for_the_full_lock_on_day_zero() -> None:
    plan = plan_record(user_id="u", created=CREATED, lock_days=28)
    timeline = plan_timeline(plan, user_record(), now=CREATED)
    assert timeline["is_locked"] is True
    assert timeline["days_elapsed"] == 0
    assert timeline["days_remaining"] == 28
    assert timeline["current_week"] == 1
    assert timeline["today"]["week"] == 1
    assert timeline["today"]["weekday"] == 0
    assert timeline["today"]["day"] == "Mon"
    assert timeline["today"]["am"]
    assert timeline["today"]["pm"]


@pytest.mark.parametrize(
    ("now", "elapsed", "remaining", "week"),
    [
        (at(hours=13, minutes=59), 0, 28, 1),  # still the start date (UTC)
        (at(hours=14), 1, 28, 1),  # midnight: a new day, but less than a day of lock used
        (at(days=1), 1, 27, 1),
        (at(days=6, hours=13), 6, 22, 1),
        (at(days=7), 7, 21, 2),
        (at(days=14), 14, 14, 3),
        (at(days=21), 21, 7, 4),
        (at(days=27, hours=13), 27, 1, 4),  # any part of a day left counts as one
    ],
)
def test_days_and_weeks_during_the_lock(now: datetime, elapsed: int, remaining: int, week: int) -> None:
    plan = plan_record(user_id="u", created=CREATED, lock_days=28)
    timeline = plan_timeline(plan, user_record(), now=now)
    assert (timeline["days_elapsed"], timeline["days_remaining"], timeline["current_week"]) == (
        elapsed,
        remaining,
        week,
    )
    assert timeline["is_locked"] is True
    assert timeline["today"]["weekday"] == now.weekday()


@pytest.mark.parametrize("now", [at(days=28), at(days=28, seconds=1), at(days=90)])
def test_the_lock_ends_at_lock_until_and_weeks_stop_at_four(now: datetime) -> None:
    plan = plan_record(user_id="u", created=CREATED, lock_days=28)
    timeline = plan_timeline(plan, user_record(), now=now)
    assert timeline["is_locked"] is False
    assert timeline["days_remaining"] == 0
    assert timeline["current_week"] == PLAN_WEEKS
    assert timeline["today"]["week"] == PLAN_WEEKS


def test_a_plan_a_second_before_lock_until_is_still_locked() -> None:
    plan = plan_record(user_id="u", created=CREATED, lock_days=28)
    timeline = plan_timeline(plan, user_record(), now=at(days=28, seconds=-1))
    assert timeline["is_locked"] is True
    assert timeline["days_remaining"] == 1


@pytest.mark.parametrize(("status", "locked"), [("active", True), ("paused", True)])
def test_active_and_paused_plans_are_locked(status: str, locked: bool) -> None:
    plan = plan_record(user_id="u", created=CREATED, status=status)
    assert plan_timeline(plan, user_record(), now=at(days=3))["is_locked"] is locked


@pytest.mark.parametrize("status", ["completed", "abandoned", "replaced"])
def test_an_ended_plan_is_never_locked(status: str) -> None:
    plan = plan_record(user_id="u", created=CREATED, status=status, ended_at="2026-03-05T10:00:00Z")
    timeline = plan_timeline(plan, user_record(), now=at(days=3))
    assert timeline["is_locked"] is False


def test_days_are_counted_in_the_users_timezone() -> None:
    # Created 10:00 UTC = 19:00 in Tokyo on the same date; 15:00 UTC is already the next day there.
    user = user_record(timezone="Asia/Tokyo")
    plan = plan_record(user_id=user.user_id, created=CREATED, start_date="2026-03-02", timezone="Asia/Tokyo")
    timeline = plan_timeline(plan, user, now=at(hours=5))
    assert timeline["days_elapsed"] == 1
    assert timeline["today"]["weekday"] == 1  # Tuesday in Tokyo
    assert timeline["days_remaining"] == 28  # the lock is an instant, not a local date
    in_utc = plan_timeline(plan, user_record(), now=at(hours=5))
    assert in_utc["days_elapsed"] == 0
    assert in_utc["today"]["weekday"] == 0


def test_a_start_date_after_today_counts_as_day_zero() -> None:
    # A user who moves west can see a local "today" before the start date.
    user = user_record(timezone="America/Los_Angeles")
    plan = plan_record(user_id=user.user_id, created=CREATED, start_date="2026-03-03")
    assert plan_timeline(plan, user, now=CREATED)["days_elapsed"] == 0


@given(
    lock_days=st.integers(min_value=1, max_value=120),
    seconds=st.integers(min_value=0, max_value=200 * 86400),
)
def test_timeline_invariants(lock_days: int, seconds: int) -> None:
    plan = plan_record(user_id="u", created=CREATED, lock_days=lock_days)
    timeline = plan_timeline(plan, user_record(), now=CREATED + timedelta(seconds=seconds))
    assert 1 <= timeline["current_week"] <= PLAN_WEEKS
    assert 0 <= timeline["days_remaining"] <= lock_days
    assert timeline["days_elapsed"] >= 0
    assert timeline["is_locked"] is (seconds < lock_days * 86400)
    assert (timeline["days_remaining"] > 0) is timeline["is_locked"]
    assert timeline["current_week"] == min(PLAN_WEEKS, timeline["days_elapsed"] // 7 + 1)


@given(
    lock_days=st.integers(min_value=1, max_value=60),
    seconds=st.integers(min_value=0, max_value=90 * 86400),
    timezone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"]),
)
def test_a_timeline_holds_exactly_until_the_moment_it_next_changes(
    lock_days: int, seconds: int, timezone: str
) -> None:
    """A cached /plans/active answer is kept only while it is still what a fresh one would say."""
    plan = plan_record(user_id="u", created=CREATED, lock_days=lock_days, timezone=timezone)
    user = user_record(timezone=timezone)
    now = at(seconds=seconds)
    holds = timeline_holds_for(plan, user, now)
    assert 0 < holds <= 86400 + 3600  # never longer than a (DST) day
    tick = timedelta(milliseconds=1)
    assert plan_timeline(plan, user, now + timedelta(seconds=holds) - tick) == plan_timeline(plan, user, now)
    assert plan_timeline(plan, user, now + timedelta(seconds=holds) + tick) != plan_timeline(plan, user, now)
