"""Check-in adherence without HTTP: AM/PM completion, the streak, reported reactions."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.security import parse_iso
from app.plans.timeline import adherence
from tests.factories import checkin, plan_record, user_record

START = date(2026, 3, 2)
CREATED = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def day(offset: int) -> str:
    return (START + timedelta(days=offset)).isoformat()


def noon(offset: int) -> datetime:
    return datetime.combine(START + timedelta(days=offset), datetime.min.time(), tzinfo=UTC) + timedelta(
        hours=12
    )


def plan_with(*checkins, **fields):
    plan = plan_record(user_id="u", created=CREATED, start_date=START.isoformat(), **fields)
    plan.checkins = {c.date: c for c in checkins}
    return plan


def test_a_new_plan_without_check_ins() -> None:
    result = adherence(plan_with(), user_record(), now=noon(0))
    assert result["days_tracked"] == 1
    assert result["checkins"] == 0
    assert result["am_percent"] == 0.0
    assert result["pm_percent"] == 0.0
    assert result["streak_days"] == 0
    assert result["reactions"] == []
    assert result["severe_reaction_reported"] is False


def test_percentages_are_over_every_day_since_the_start() -> None:
    plan = plan_with(
        checkin(day(0)),
        checkin(day(1), pm=False),
        checkin(day(3), am=False),
    )
    result = adherence(plan, user_record(), now=noon(3))
    assert result["days_tracked"] == 4
    assert result["checkins"] == 3
    assert result["am_percent"] == 50.0  # days 0 and 1 of 4
    assert result["pm_percent"] == 50.0  # days 0 and 3 of 4
    assert adherence(plan, user_record(), now=noon(5))["am_percent"] == pytest.approx(33.3)


def test_streak_counts_back_from_today_over_fully_done_days() -> None:
    plan = plan_with(checkin(day(0)), checkin(day(2)), checkin(day(3)), checkin(day(4)))
    assert adherence(plan, user_record(), now=noon(4))["streak_days"] == 3


def test_today_not_logged_yet_does_not_break_the_streak() -> None:
    plan = plan_with(checkin(day(0)), checkin(day(1)))
    assert adherence(plan, user_record(), now=noon(2))["streak_days"] == 2
    # ... but a whole missed day does.
    assert adherence(plan, user_record(), now=noon(3))["streak_days"] == 0


def test_a_half_done_day_ends_the_streak() -> None:
    plan = plan_with(checkin(day(0)), checkin(day(1), pm=False), checkin(day(2)))
    assert adherence(plan, user_record(), now=noon(2))["streak_days"] == 1
    # A half-done today counts for nothing and breaks it (it is logged, so not "not yet").
    half_today = plan_with(checkin(day(0)), checkin(day(1), am=False))
    assert adherence(half_today, user_record(), now=noon(1))["streak_days"] == 0


def test_an_ended_plan_stops_counting_at_its_end() -> None:
    plan = plan_with(checkin(day(0)), checkin(day(1)), status="completed", ended_at=f"{day(1)}T18:00:00Z")
    result = adherence(plan, user_record(), now=noon(20))
    assert result["days_tracked"] == 2
    assert result["am_percent"] == 100.0
    assert result["pm_percent"] == 100.0
    assert result["streak_days"] == 2


def test_reactions_are_listed_by_date_and_a_severe_one_is_flagged() -> None:
    plan = plan_with(
        checkin(day(2), reaction={"severity": "severe", "description": "burning"}),
        checkin(day(0), reaction={"severity": "mild", "suspected_products": ["retinol"]}),
        checkin(day(1)),
    )
    result = adherence(plan, user_record(), now=noon(2))
    assert result["reactions"] == [
        {"date": day(0), "severity": "mild", "suspected_products": ["retinol"]},
        {"date": day(2), "severity": "severe", "description": "burning"},
    ]
    assert result["severe_reaction_reported"] is True
    mild_only = plan_with(checkin(day(0), reaction={"severity": "moderate"}))
    assert adherence(mild_only, user_record(), now=noon(0))["severe_reaction_reported"] is False


def test_days_are_counted_in_the_users_timezone() -> None:
    # 20:00 UTC on day 1 is already day 2 in Tokyo.
    plan = plan_with(checkin(day(0)), checkin(day(1)), checkin(day(2)))
    late = noon(1) + timedelta(hours=8)
    assert adherence(plan, user_record(timezone="Asia/Tokyo"), now=late)["days_tracked"] == 3
    assert adherence(plan, user_record(), now=late)["days_tracked"] == 2


def test_an_ended_plan_is_cut_at_the_users_local_end_date() -> None:
    # Ended 2026-03-03T23:30Z = 2026-03-04 08:30 in Tokyo; both local days were logged.
    plan = plan_with(checkin(day(0)), checkin(day(1)), checkin(day(2)), status="completed")
    plan.ended_at = parse_iso(f"{day(1)}T23:30:00Z")
    result = adherence(plan, user_record(timezone="Asia/Tokyo"), now=noon(10))
    assert result["am_percent"] <= 100.0  # today: 150.0 (3 check-ins over 2 days)
    assert result["days_tracked"] == 3


def test_a_plan_started_and_ended_on_one_local_day_tracks_one_day() -> None:
    # Started 2026-03-01 (local), ended 2026-03-02T03:00Z = 2026-03-01 19:00 in Los Angeles.
    plan = plan_record(
        user_id="u",
        created=CREATED,
        start_date="2026-03-01",
        status="abandoned",
        ended_at="2026-03-02T03:00:00Z",
    )
    plan.checkins = {"2026-03-01": checkin("2026-03-01")}
    result = adherence(plan, user_record(timezone="America/Los_Angeles"), now=noon(10))
    assert result["days_tracked"] == 1  # today: 2
    assert result["am_percent"] == 100.0  # today: 50.0


@given(
    done=st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=40),
    logged=st.data(),
)
def test_adherence_invariants(done: list[tuple[bool, bool]], logged: st.DataObject) -> None:
    kept = logged.draw(st.lists(st.booleans(), min_size=len(done), max_size=len(done)))
    plan = plan_with(
        *(checkin(day(i), am=am, pm=pm) for i, ((am, pm), k) in enumerate(zip(done, kept, strict=True)) if k)
    )
    today = len(done) - 1
    result = adherence(plan, user_record(), now=noon(today))
    assert result["days_tracked"] == len(done)
    assert 0 <= result["am_percent"] <= 100
    assert 0 <= result["pm_percent"] <= 100
    assert 0 <= result["streak_days"] <= result["checkins"] <= result["days_tracked"]
    # The streak is the run of fully done days ending today (or yesterday if today is unlogged).
    expected, cursor = 0, today
    if not kept[cursor]:
        cursor -= 1
    while cursor >= 0 and kept[cursor] and all(done[cursor]):
        expected, cursor = expected + 1, cursor - 1
    assert result["streak_days"] == expected
