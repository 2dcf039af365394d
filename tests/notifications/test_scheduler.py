"""Due-time notifications against DynamoDB Local: the schedule index, once-only under two
schedulers, the user's timezone and DST, routine reminders skipped once checked in, rescan
due and plan unlocked, and the catch-up of a scheduler that was down."""

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.auth.models import UserRecord
from app.core.errors import DependencyUnavailableError
from app.db.keys import notify_daily_partition, notify_due_partition
from app.notifications.schedule import local_instant, minute_slot
from app.notifications.scheduler import ReminderScheduler
from app.plans.models import PlanSlot
from app.preferences.models import Preferences
from tests.factories import checkin, plan_record, scan_record, user_record
from tests.helpers import in_threads

Feed = Callable[[str], list[Any]]


def a_user(container: Any, timezone: str = "UTC") -> UserRecord:
    user = user_record(timezone=timezone)
    container.users.create(user=user)
    return user


def with_plan(container: Any, user: UserRecord, *, start: date, **fields: Any) -> Any:
    plan = plan_record(user_id=user.user_id, start_date=start.isoformat(), timezone=user.timezone, **fields)
    container.plans_repo.create(plan=plan, slot=PlanSlot(), previous=None, previous_status=None)
    return plan


def entry_names(container: Any, partition: str, user: UserRecord) -> set[str]:
    return {
        e.name for e in container.schedule_index.entries(partition=partition) if e.owner_id == user.user_id
    }


def test_saving_preferences_places_the_reminders_at_the_utc_minute_of_the_local_time(container: Any) -> None:
    user = a_user(container, "Asia/Tokyo")  # UTC+9, no DST
    container.preferences.replace(
        user=user, preferences=Preferences(am_reminder_time="07:30", pm_reminder_time="20:05")
    )
    assert entry_names(container, notify_daily_partition("22:30"), user) == {"am"}
    assert entry_names(container, notify_daily_partition("11:05"), user) == {"pm"}

    # A new time moves the entry; switching reminders off removes both.
    container.preferences.patch(user=user, changes={"am_reminder_time": "06:00"})
    assert entry_names(container, notify_daily_partition("22:30"), user) == set()
    assert entry_names(container, notify_daily_partition("21:00"), user) == {"am"}
    container.preferences.patch(user=user, changes={"notifications": {"routine_reminders": False}})
    assert entry_names(container, notify_daily_partition("21:00"), user) == set()
    assert entry_names(container, notify_daily_partition("11:05"), user) == set()


def test_two_schedulers_on_the_same_minute_make_the_reminder_exactly_once(
    container: Any, make_scheduler: Callable[..., ReminderScheduler], feed: Feed
) -> None:
    user = a_user(container, "Asia/Tokyo")
    day = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    plan = with_plan(container, user, start=day - timedelta(days=3))
    container.preferences.replace(user=user, preferences=Preferences(am_reminder_time="07:30"))
    minute = local_instant(day, "07:30", ZoneInfo("Asia/Tokyo"))
    one, two = make_scheduler(), make_scheduler()
    # Three rounds of both instances on that minute at the same moment.
    made = [n for _ in range(3) for n in both(lambda: one.run_minute(minute), lambda: two.run_minute(minute))]

    reminders = [n for n in feed(user.user_id) if n.kind == "routine_am"]
    assert len(reminders) == 1
    assert sum(made) == 1
    assert reminders[0].data["date"] == day.isoformat()
    assert reminders[0].data["plan_id"] == plan.plan_id


def both(first: Callable[[], int], second: Callable[[], int]) -> list[int]:
    """Run two calls in two threads released at one moment; their results."""
    jobs = [first, second]
    return in_threads(2, lambda: jobs.pop()())


def test_no_routine_reminder_once_the_check_in_is_done(
    container: Any, make_scheduler: Callable[..., ReminderScheduler], feed: Feed
) -> None:
    user = a_user(container, "UTC")
    day = datetime.now(UTC).date()
    plan = with_plan(container, user, start=day - timedelta(days=2))
    container.plans_repo.put_checkin(
        plan=plan, checkin=checkin(day.isoformat(), am=True, pm=False), extra_warning=None
    )
    container.preferences.replace(
        user=user, preferences=Preferences(am_reminder_time="04:10", pm_reminder_time="19:50")
    )
    scheduler = make_scheduler()
    assert scheduler.run_minute(local_instant(day, "04:10", ZoneInfo("UTC"))) == 0  # AM done
    scheduler.run_minute(local_instant(day, "19:50", ZoneInfo("UTC")))
    assert [n.kind for n in feed(user.user_id)] == ["routine_pm"]  # PM not done yet


def test_no_routine_reminder_without_an_active_plan(
    container: Any, make_scheduler: Callable[..., ReminderScheduler], feed: Feed
) -> None:
    user = a_user(container)
    container.preferences.replace(user=user, preferences=Preferences(am_reminder_time="03:20"))
    make_scheduler().run_minute(local_instant(datetime.now(UTC).date(), "03:20", ZoneInfo("UTC")))
    assert feed(user.user_id) == []


def test_after_a_dst_change_the_entry_moves_and_the_reminder_comes_once(
    container: Any, make_scheduler: Callable[..., ReminderScheduler], feed: Feed
) -> None:
    paris = ZoneInfo("Europe/Paris")
    user = a_user(container, "Europe/Paris")
    with_plan(container, user, start=date(2026, 3, 1))
    # Saved in winter: 08:00 CET is 07:00 UTC.
    container.preferences.replace(user=user, preferences=Preferences(am_reminder_time="08:00"))
    container.schedule_index.place(user_id=user.user_id, name="am", partition=notify_daily_partition("07:00"))
    scheduler = make_scheduler()

    # Summer (CEST, UTC+2): the 07:00 UTC entry is 09:00 local, an hour late: sent, and moved.
    summer = date(2026, 7, 1)
    assert scheduler.run_minute(datetime(2026, 7, 1, 7, 0, tzinfo=UTC)) == 1
    assert entry_names(container, notify_daily_partition("06:00"), user) == {"am"}
    assert entry_names(container, notify_daily_partition("07:00"), user) == set()
    assert scheduler.run_minute(local_instant(summer, "08:00", paris)) == 0  # not twice that day
    # The next summer day it fires on time, at 06:00 UTC.
    assert scheduler.run_minute(datetime(2026, 7, 2, 6, 0, tzinfo=UTC)) == 1

    # Back in winter the 06:00 UTC entry is 07:00 local, early: not sent, moved to 07:00 UTC.
    assert scheduler.run_minute(datetime(2026, 11, 10, 6, 0, tzinfo=UTC)) == 0
    assert entry_names(container, notify_daily_partition("07:00"), user) == {"am"}
    assert scheduler.run_minute(datetime(2026, 11, 10, 7, 0, tzinfo=UTC)) == 1
    dates = sorted(n.data["date"] for n in feed(user.user_id))
    assert dates == ["2026-07-01", "2026-07-02", "2026-11-10"]


def test_rescan_due_comes_once_at_the_am_time_after_the_interval(
    container: Any, make_scheduler: Callable[..., ReminderScheduler], feed: Feed
) -> None:
    user = a_user(container, "UTC")
    scanned = datetime.now(UTC) - timedelta(days=6)
    scan, _ = container.scans_repo.create(
        scan=scan_record(user_id=user.user_id, status="completed", created=scanned)
    )
    container.preferences.replace(
        user=user, preferences=Preferences(rescan_interval_days=7, am_reminder_time="09:15")
    )
    due = local_instant(scanned.date() + timedelta(days=7), "09:15", ZoneInfo("UTC"))
    assert entry_names(container, notify_due_partition(minute_slot(due)), user) == {"rescan_due"}

    one, two = make_scheduler(), make_scheduler()
    assert sum(both(lambda: one.run_minute(due), lambda: two.run_minute(due))) == 1
    assert one.run_minute(due) == 0
    [notification] = feed(user.user_id)
    assert notification.kind == "rescan_due"
    assert notification.data["scan_id"] == scan.scan_id
    assert entry_names(container, notify_due_partition(minute_slot(due)), user) == set()  # spent


def test_the_plan_unlocked_notification_comes_when_the_lock_ends(
    container: Any, make_scheduler: Callable[..., ReminderScheduler], feed: Feed
) -> None:
    user = a_user(container)
    now = datetime.now(UTC)
    plan = plan_record(user_id=user.user_id, created=now - timedelta(days=27), lock_days=28)
    container.plans_repo.create(plan=plan, slot=PlanSlot(), previous=None, previous_status=None)
    container.scheduler.schedule_unlock(user_id=user.user_id, plan=plan)
    unlock = datetime.fromisoformat(plan.lock_until).replace(second=0, microsecond=0) + timedelta(minutes=1)
    scheduler = make_scheduler()
    assert scheduler.run_minute(unlock) == 1
    [notification] = feed(user.user_id)
    assert notification.kind == "plan_unlocked"
    assert notification.data["plan_id"] == plan.plan_id


def test_a_scheduler_that_was_down_catches_up_from_the_shared_cursor(
    container: Any, make_scheduler: Callable[..., ReminderScheduler], feed: Feed
) -> None:
    # Minutes far in the future, so no other test's minutes are touched.
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=400)
    one, two = make_scheduler(catch_up_minutes=15), make_scheduler(catch_up_minutes=15)
    one.tick(start)
    users = [a_user(container), a_user(container)]
    for user, offset in zip(users, (3, 7), strict=True):
        plan = plan_record(
            user_id=user.user_id, created=start - timedelta(days=28) + timedelta(minutes=offset)
        )
        container.plans_repo.create(plan=plan, slot=PlanSlot(), previous=None, previous_status=None)
        container.scheduler.schedule_unlock(user_id=user.user_id, plan=plan)
    # Both instances wake up ten minutes later at once: every missed minute is processed, once.
    later = start + timedelta(minutes=10)
    made = sum(both(lambda: one.tick(later), lambda: two.tick(later)))
    # At least our two: a minute also holds the daily (time-of-day) entries of other tests'
    # users, whose routine reminder may fall at that HH:MM. Once-only is the feeds' check below.
    assert made >= 2
    assert container.schedule_index.cursor() == minute_slot(start + timedelta(minutes=10))
    assert [[n.kind for n in feed(u.user_id)] for u in users] == [["plan_unlocked"], ["plan_unlocked"]]


def test_the_loop_ticks_until_stopped_and_survives_a_failing_tick(
    make_scheduler: Callable[..., ReminderScheduler], monkeypatch: Any
) -> None:
    scheduler = make_scheduler()
    scheduler._interval = 0.01
    ticks: list[int] = []

    def tick() -> int:
        ticks.append(1)
        if len(ticks) == 2:
            raise DependencyUnavailableError("throttled")
        if len(ticks) == 3:
            raise RuntimeError("a bug in one tick")
        return 0

    monkeypatch.setattr(scheduler, "tick", tick)

    async def run() -> None:
        await scheduler.start()
        for _ in range(200):
            if len(ticks) >= 5:
                break
            await asyncio.sleep(0.01)
        await scheduler.stop()

    asyncio.run(run())
    assert len(ticks) >= 5  # kept ticking after both failures


def test_a_cursor_ahead_of_the_clock_does_not_stop_the_reminders(
    container: Any, make_scheduler: Callable[..., ReminderScheduler], feed: Feed
) -> None:
    # One instance with a clock far ahead moved the shared cursor; the others keep going.
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    container.schedule_index.advance_cursor(minute=minute_slot(now + timedelta(days=500)))
    user = a_user(container)
    plan = plan_record(user_id=user.user_id, created=now - timedelta(days=28), lock_days=28)
    container.plans_repo.create(plan=plan, slot=PlanSlot(), previous=None, previous_status=None)
    container.scheduler.schedule_unlock(user_id=user.user_id, plan=plan)
    make_scheduler().tick(now + timedelta(minutes=1))
    assert [n.kind for n in feed(user.user_id)] == ["plan_unlocked"]
