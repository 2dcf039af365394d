"""Journal entries: create, read, page, patch, delete; cycle day and phase filled in on read.

The cycle fields are worked out when an entry is read, from the period logs as they are
then, so logging a period later fills in (or corrects) the entries it covers.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.core.errors import AccountGoneError, NotFoundError, UnprocessableError
from app.core.security import iso, new_id, utc_now
from app.cycles.position import CyclePosition
from app.cycles.service import local_today
from app.db.guards import UserGoneError
from app.journal.models import JournalEntryRecord
from app.journal.repository import EntryGone, JournalRepository

# user_id, dates → position of each date (one read of the logs for a whole page).
PositionsLookup = Callable[[str, list[date]], dict[date, CyclePosition | None]]
EDITABLE = ("date", "mood", "energy", "stress", "sleep_hours", "text", "tags")


class EntryNotFoundError(NotFoundError):
    code = "journal_entry_not_found"
    message = "No such journal entry."


@dataclass(frozen=True)
class JournalEntry:
    """A stored entry and where its date falls in the user's cycle (None when unknown)."""

    record: JournalEntryRecord
    position: CyclePosition | None


def no_positions(_user_id: str, dates: list[date]) -> dict[date, CyclePosition | None]:
    """The lookup without cycle tracking."""
    return dict.fromkeys(dates)


class JournalService:
    def __init__(
        self,
        *,
        journal: JournalRepository,
        positions: PositionsLookup = no_positions,
        today: Callable[[str], date] | None = None,
    ) -> None:
        self._journal = journal
        self._positions = positions
        self._today = today

    def create(self, *, user_id: str, timezone: str, fields: dict[str, Any]) -> JournalEntry:
        """A new entry (422 for a date after the user's today)."""
        self._check_date(fields["date"], timezone)
        now = utc_now()
        record = JournalEntryRecord(
            user_id=user_id,
            entry_id=new_id(),
            **{**fields, "date": fields["date"].isoformat()},
            created_at=now,
            updated_at=now,
        )
        try:
            self._journal.create(entry=record)
        except UserGoneError as exc:
            raise AccountGoneError() from exc
        return self._with_positions(user_id, [record])[0]

    def get(self, *, user_id: str, entry_id: str) -> JournalEntry:
        """One of the user's entries (404 otherwise)."""
        return self._with_positions(user_id, [self._record(user_id, entry_id)])[0]

    def get_page(
        self,
        *,
        user_id: str,
        limit: int,
        cursor: str | None,
        date_from: date | None,
        date_to: date | None,
    ) -> tuple[list[JournalEntry], str | None]:
        """Newest first, within an inclusive date range."""
        if date_from and date_to and date_from > date_to:
            raise UnprocessableError(
                "`from` must not be after `to`.", code="invalid_date_range", details={"field": "from"}
            )
        records, next_cursor = self._journal.page(
            user_id=user_id,
            limit=limit,
            cursor=cursor,
            date_from=date_from.isoformat() if date_from else None,
            date_to=date_to.isoformat() if date_to else None,
        )
        return self._with_positions(user_id, records), next_cursor

    def update(self, *, user_id: str, timezone: str, entry_id: str, fields: dict[str, Any]) -> JournalEntry:
        """Change only the fields sent (`date: null` is refused; other nulls clear)."""
        old = self._record(user_id, entry_id)
        changes = {k: v for k, v in fields.items() if k in EDITABLE}
        if "date" in changes:
            if changes["date"] is None:
                raise UnprocessableError(
                    "An entry needs a date.", code="validation_error", details={"field": "date"}
                )
            self._check_date(changes["date"], timezone)
            changes["date"] = changes["date"].isoformat()
        if "tags" in changes and changes["tags"] is None:
            changes["tags"] = []
        if not changes:
            return self._with_positions(user_id, [old])[0]
        now = utc_now()
        changes["updated_at"] = now
        new = JournalEntryRecord.model_validate({**old.model_dump(), **changes})
        stored = {k: _stored(v) for k, v in changes.items()}
        try:
            self._journal.update(old=old, changes=stored, new=new)
        except EntryGone as exc:
            raise EntryNotFoundError() from exc
        return self._with_positions(user_id, [new])[0]

    def delete(self, *, user_id: str, entry_id: str) -> None:
        """Remove one entry (404 if it is not the user's)."""
        self._journal.delete(entry=self._record(user_id, entry_id))

    def _record(self, user_id: str, entry_id: str) -> JournalEntryRecord:
        record = self._journal.get(user_id=user_id, entry_id=entry_id)
        if record is None:
            raise EntryNotFoundError()
        return record

    def _check_date(self, value: date, timezone: str) -> None:
        today = (self._today or local_today)(timezone)
        if value > today:
            raise UnprocessableError(
                "A journal entry cannot be dated after today.",
                code="validation_error",
                details={"field": "date", "today": today.isoformat()},
            )

    def _with_positions(self, user_id: str, records: list[JournalEntryRecord]) -> list[JournalEntry]:
        if not records:
            return []
        dates = sorted({date.fromisoformat(r.date) for r in records})
        positions = self._positions(user_id, dates)
        return [JournalEntry(record=r, position=positions.get(date.fromisoformat(r.date))) for r in records]


def _stored(value: Any) -> Any:
    """A changed value as the item holds it (enums and datetimes as strings)."""
    if isinstance(value, datetime):
        return iso(value)
    if hasattr(value, "value"):
        return value.value
    return value
