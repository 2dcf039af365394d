"""Due-time notifications: an in-process loop over a schedule index, safe with many instances.

The index (records table) has one partition per UTC minute, so a tick reads exactly what is
due in that minute with one Query per partition kind, never a table Scan:

- daily entries (`system#notify-daily#HH:MM`, SK `<user_id>#am|pm`): the AM/PM routine
  reminders, placed when preferences are saved or a plan starts, at the UTC minute of the
  local reminder time;
- one-off entries (`system#notify-due#YYYY-MM-DDTHH:MM`, SK `<user_id>#rescan_due|plan_unlocked`):
  the next rescan (latest scan + interval, at the AM time) and the end of the plan's lock.

Every entry is checked against the truth when it fires (the user exists, the switch is on,
the check-in is not done, the scan is still the latest, the plan still locked until then);
a stale entry is dropped or moved, never trusted. A daily entry whose minute no longer
matches the local time (a DST change, a new timezone) moves itself; on such a day the
reminder comes up to `LATE_GRACE` late, never twice. Exactly-once comes from the
notification's guard item (user, kind, local day or object), written in the same
transaction as the notification: any number of schedulers may process the same minute.
"""

import asyncio
import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta

from app.auth.models import UserRecord
from app.auth.repository import UsersRepository
from app.core.errors import DomainError
from app.core.security import parse_iso, utc_now
from app.db.guards import UserGoneError
from app.db.keys import notify_daily_partition, notify_due_partition
from app.notifications.models import ScheduleEntry
from app.notifications.schedule import (
    MINUTE,
    daily_slot,
    floor_minute,
    local_instant,
    minute_slot,
    next_instant,
    parse_minute_slot,
    rescan_due_on,
)
from app.notifications.schedule_index import ScheduleIndex
from app.notifications.service import NotificationService
from app.plans.models import PlanRecord
from app.plans.repository import PlansRepository
from app.plans.timeline import plan_timeline
from app.preferences.models import StoredPreferences
from app.preferences.service import PreferencesService
from app.scans.models import ScanRecord
from app.scans.repository import ScansRepository

logger = logging.getLogger("dermalens.notifications.scheduler")

LATE_GRACE = timedelta(hours=3)
Fire = Callable[[ScheduleEntry, datetime], bool]
DAILY = ("am", "pm")


class ReminderScheduler:
    def __init__(
        self,
        *,
        index: ScheduleIndex,
        notifications: NotificationService,
        preferences: PreferencesService,
        users: UsersRepository,
        plans: PlansRepository,
        scans: ScansRepository,
        interval_seconds: float,
        catch_up_minutes: int,
    ) -> None:
        self._index = index
        self._notifications = notifications
        self._preferences = preferences
        self._users = users
        self._plans = plans
        self._scans = scans
        self._interval = interval_seconds
        self._catch_up = catch_up_minutes
        self._task: asyncio.Task[None] | None = None

    # ---- keeping the index ----

    def sync_user(self, user: UserRecord, prefs: StoredPreferences) -> None:
        """Place the user's daily entries and next rescan for these preferences (a preferences listener)."""
        try:
            self._place_daily(user=user, prefs=prefs, now=utc_now())
            latest = self._scans.latest_completed(user_id=user.user_id)
            if latest is not None:
                self.schedule_rescan(user=user, scan=latest, prefs=prefs)
        except UserGoneError:
            return
        except DomainError as exc:
            # The preferences are saved; the index is derived from them and heals when an
            # entry fires or on the next save, so the request does not fail for it.
            logger.warning("reminders not re-placed: %s", exc.message)

    def _place_daily(self, *, user: UserRecord, prefs: StoredPreferences, now: datetime) -> None:
        zone = prefs.zone(user.timezone)
        for name in DAILY:
            partition = None
            if prefs.notifications.routine_reminders:
                due = next_instant(now, _reminder_time(prefs, name), zone)
                partition = notify_daily_partition(daily_slot(due))
            self._index.place(user_id=user.user_id, name=name, partition=partition)

    def ensure_daily(self, *, user: UserRecord) -> None:
        """Routine reminders need entries once a plan starts, even if preferences were never saved."""
        prefs = self._preferences.get(user_id=user.user_id)
        self._place_daily(user=user, prefs=prefs, now=utc_now())

    def schedule_rescan(
        self, *, user: UserRecord, scan: ScanRecord, prefs: StoredPreferences | None = None
    ) -> None:
        """The one-off `rescan_due` entry: the scan's local day + the interval, at the AM time."""
        prefs = prefs or self._preferences.get(user_id=user.user_id)
        due = self.rescan_due_at(user=user, scan=scan, prefs=prefs)
        # A due time already past (a shorter interval) fires at the next minute.
        due = max(due, floor_minute(utc_now()) + MINUTE)
        self._index.place(
            user_id=user.user_id,
            name="rescan_due",
            partition=notify_due_partition(minute_slot(due)),
            ref=scan.scan_id,
        )

    @staticmethod
    def rescan_due_at(*, user: UserRecord, scan: ScanRecord, prefs: StoredPreferences) -> datetime:
        zone = prefs.zone(user.timezone)
        due_on = rescan_due_on(parse_iso(scan.scan_date), interval_days=prefs.rescan_interval_days, zone=zone)
        return local_instant(due_on, prefs.am_reminder_time, zone)

    def schedule_unlock(self, *, user_id: str, plan: PlanRecord) -> None:
        """The one-off `plan_unlocked` entry at the minute the lock ends."""
        unlock = floor_minute(parse_iso(plan.lock_until)) + MINUTE
        self._index.place(
            user_id=user_id,
            name="plan_unlocked",
            partition=notify_due_partition(minute_slot(unlock)),
            ref=plan.plan_id,
        )

    # ---- running ----

    def tick(self, now: datetime | None = None) -> int:
        """Process every minute since the last one any scheduler finished (bounded), up to now."""
        current = floor_minute(now or utc_now())
        last = self._index.cursor()
        start = parse_minute_slot(last) + MINUTE if last else current
        if start > current + MINUTE:
            # Another instance's clock ran ahead: do not wait for it (the guards keep it once-only).
            start = current
        start = max(start, current - timedelta(minutes=self._catch_up))
        made = 0
        minute = start
        while minute <= current:
            made += self.run_minute(minute)
            self._index.advance_cursor(minute=minute_slot(minute))
            minute += MINUTE
        return made

    def run_minute(self, minute: datetime) -> int:
        """Fire every entry of one UTC minute; returns how many notifications this call made."""
        minute = floor_minute(minute)
        made = 0
        for entry in self._index.entries(partition=notify_daily_partition(daily_slot(minute))):
            made += self._guarded(entry, minute, self._fire_daily)
        for entry in self._index.entries(partition=notify_due_partition(minute_slot(minute))):
            made += self._guarded(entry, minute, self._fire_due)
        return made

    def _guarded(self, entry: ScheduleEntry, minute: datetime, fire: Fire) -> int:
        # One user's failure (a throttled call) must not stop everyone else's reminders.
        try:
            return 1 if fire(entry, minute) else 0
        except UserGoneError:
            return 0  # the account is being deleted: its erasure removes the entry
        except DomainError as exc:
            logger.warning("reminder skipped: %s", exc.message, extra={"entry": entry.name})
            return 0

    def _live_user(self, entry: ScheduleEntry) -> UserRecord | None:
        user = self._users.get(user_id=entry.owner_id)
        if user is None or user.deletion_requested_at:
            self._index.remove(partition=entry.partition, user_id=entry.owner_id, name=entry.name)
            return None
        return user

    def _fire_daily(self, entry: ScheduleEntry, minute: datetime) -> bool:
        user = self._live_user(entry)
        if user is None or entry.name not in DAILY:
            return False
        prefs = self._preferences.get(user_id=user.user_id)
        if not prefs.notifications.routine_reminders:
            self._index.place(user_id=user.user_id, name=entry.name, partition=None)
            return False
        zone = prefs.zone(user.timezone)
        local_day = minute.astimezone(zone).date()
        due = local_instant(local_day, _reminder_time(prefs, entry.name), zone)
        right = notify_daily_partition(daily_slot(due))
        if right != entry.partition:
            # DST, a new timezone or a racing save: move to today's right minute.
            self._index.place(user_id=user.user_id, name=entry.name, partition=right)
        if not timedelta(0) <= minute - due <= LATE_GRACE:
            return False
        return self._routine_reminder(user=user, prefs=prefs, slot=entry.name, day=local_day, now=minute)

    def _routine_reminder(
        self, *, user: UserRecord, prefs: StoredPreferences, slot: str, day: date, now: datetime
    ) -> bool:
        current = self._plans.get_slot(user_id=user.user_id).current_plan_id
        plan = self._plans.get(user_id=user.user_id, plan_id=current) if current else None
        if plan is None or plan.status != "active" or day < date.fromisoformat(plan.start_date):
            return False
        checkin = plan.checkins.get(day.isoformat())
        if checkin and (checkin.am_done if slot == "am" else checkin.pm_done):
            return False  # already done today: no reminder
        steps = plan_timeline(plan, user, now)["today"][slot]
        first = steps[0]["product_type"].replace("_", " ") if steps else "your routine"
        label = "morning" if slot == "am" else "evening"
        made = self._notifications.make(
            user_id=user.user_id,
            kind="routine_am" if slot == "am" else "routine_pm",
            title=f"Your {label} routine",
            body=f"{len(steps)} step(s) today, starting with {first}. Check in when you are done.",
            data={"plan_id": plan.plan_id, "date": day.isoformat(), "link": f"/api/v1/plans/{plan.plan_id}"},
            dedupe_key=f"routine_{slot}#{day.isoformat()}",
            preferences=prefs,
        )
        return made is not None

    def _fire_due(self, entry: ScheduleEntry, minute: datetime) -> bool:
        user = self._live_user(entry)
        if user is None:
            return False
        try:
            if entry.name == "rescan_due":
                return self._rescan_due(user=user, scan_id=entry.ref or "", now=minute)
            if entry.name == "plan_unlocked":
                return self._plan_unlocked(user=user, plan_id=entry.ref or "", now=minute)
            return False
        finally:
            # One-offs are spent once processed (the guard, not this delete, prevents repeats).
            self._index.remove(partition=entry.partition, user_id=user.user_id, name=entry.name)

    def _rescan_due(self, *, user: UserRecord, scan_id: str, now: datetime) -> bool:
        latest = self._scans.latest_completed(user_id=user.user_id)
        if latest is None or latest.scan_id != scan_id:
            return False  # a newer scan has its own entry
        prefs = self._preferences.get(user_id=user.user_id)
        if self.rescan_due_at(user=user, scan=latest, prefs=prefs) > now + MINUTE:
            return False  # the interval grew since: the later entry fires then
        made = self._notifications.make(
            user_id=user.user_id,
            kind="rescan_due",
            title="Time for a new scan",
            body=f"It has been {prefs.rescan_interval_days} days since your last scan: take one to see your progress.",
            data={"scan_id": latest.scan_id, "link": "/api/v1/scans"},
            dedupe_key=f"rescan_due#{latest.scan_id}",
            preferences=prefs,
        )
        return made is not None

    def _plan_unlocked(self, *, user: UserRecord, plan_id: str, now: datetime) -> bool:
        if self._plans.get_slot(user_id=user.user_id).current_plan_id != plan_id:
            return False
        plan = self._plans.get(user_id=user.user_id, plan_id=plan_id)
        if (
            plan is None
            or plan.status not in {"active", "paused"}
            or parse_iso(plan.lock_until) > now + MINUTE
        ):
            return False
        made = self._notifications.make(
            user_id=user.user_id,
            kind="plan_unlocked",
            title="Your plan is unlocked",
            body="Your plan has run a full skin cycle: scan again and you can start a new plan.",
            data={"plan_id": plan_id, "link": f"/api/v1/plans/{plan_id}"},
            dedupe_key=f"plan_unlocked#{plan_id}",
        )
        return made is not None

    # ---- the loop ----

    async def start(self) -> None:
        if self._interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.tick)
            except DomainError as exc:
                logger.warning("reminder tick skipped: %s", exc.message)
            except Exception:
                # The loop must outlive a bug in one tick; the next tick catches up from the cursor.
                logger.exception("reminder tick crashed")
            await asyncio.sleep(self._interval)


def _reminder_time(prefs: StoredPreferences, name: str) -> str:
    return prefs.am_reminder_time if name == "am" else prefs.pm_reminder_time
