"""Pure time arithmetic of the reminder schedule: local reminder times ↔ UTC minute slots."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.preferences.models import parse_hhmm

MINUTE = timedelta(minutes=1)


def floor_minute(moment: datetime) -> datetime:
    """The UTC minute `moment` falls in."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def minute_slot(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM` (UTC): the one-off partitions and the schedulers' cursor."""
    return floor_minute(moment).strftime("%Y-%m-%dT%H:%M")


def parse_minute_slot(slot: str) -> datetime:
    return datetime.strptime(slot, "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)


def daily_slot(moment: datetime) -> str:
    """`HH:MM` (UTC): the daily partitions."""
    return floor_minute(moment).strftime("%H:%M")


def local_instant(on: date, hhmm: str, zone: ZoneInfo) -> datetime:
    """The UTC instant of local time `hhmm` on local date `on` (a time skipped by DST lands after the gap)."""
    naive = datetime.combine(on, parse_hhmm(hhmm))
    # Round-tripping through UTC normalises a wall time that does not exist that day.
    return naive.replace(tzinfo=zone).astimezone(UTC)


def next_instant(after: datetime, hhmm: str, zone: ZoneInfo) -> datetime:
    """The first local `hhmm` at or after `after` (today's if still ahead, else tomorrow's)."""
    local_day = after.astimezone(zone).date()
    candidate = local_instant(local_day, hhmm, zone)
    return (
        candidate
        if candidate >= floor_minute(after)
        else local_instant(local_day + timedelta(days=1), hhmm, zone)
    )


def rescan_due_on(scanned_at: datetime, *, interval_days: int, zone: ZoneInfo) -> date:
    """The local day the next scan is due: the scan's local day plus the interval."""
    return scanned_at.astimezone(zone).date() + timedelta(days=interval_days)
