"""Period logs, predictions and today's cycle position; the `CyclePositionLookup` other domains use.

Logs are checked against each other before every write (no end before start, no future
start, no period over 15 days, no overlap) and the write is conditional on nothing having
changed since they were read (see `CyclesRepository.write`): an edit into an impossible log
is refused with 422 and the stored log stays as it was.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.core.errors import AccountGoneError, ConflictError, NotFoundError, UnprocessableError
from app.core.security import new_id, utc_now
from app.cycles.models import Flow, PeriodRecord, Symptom
from app.cycles.position import CyclePosition
from app.cycles.prediction import (
    MIN_COMPLETE_CYCLES,
    CycleHistory,
    CycleStats,
    LoggedPeriod,
    PredictedPeriod,
)
from app.cycles.repository import CyclesRepository, SlotMoved
from app.db.guards import UserGoneError

MAX_PERIOD_DAYS = 15
# Logs older than this are refused: a typo in the year, not a history anyone imports.
MAX_HISTORY_DAYS = 366 * 15
_WRITE_ATTEMPTS = 4
NOT_CONTRACEPTION = (
    "Ovulation and fertile days are estimates from your logged periods only: they are not "
    "contraception and cannot tell you when you can or cannot get pregnant."
)


class PeriodNotFoundError(NotFoundError):
    code = "period_not_found"
    message = "No such period log."


def impossible(message: str, *, field_name: str, **details: Any) -> UnprocessableError:
    """422 `invalid_period_log` naming the field at fault."""
    return UnprocessableError(message, code="invalid_period_log", details={"field": field_name, **details})


@dataclass(frozen=True)
class PeriodChanges:
    """A log's fields as sent; `fields_set` says which ones a PATCH carried."""

    start_date: date | None = None
    end_date: date | None = None
    flow: Flow | None = None
    symptoms: list[Symptom] | None = None
    fields_set: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Predictions:
    """The answer of GET /cycle/predictions."""

    periods: list[PredictedPeriod]
    stats: CycleStats | None
    reason: str | None

    @property
    def confidence(self) -> str:
        """high / medium / low, from how many ordinary cycles there are and how much they vary."""
        if self.stats is None or self.stats.insufficient_history:
            return "low"
        if self.stats.cycles_used >= 6 and self.stats.spread_days <= 2.5:
            return "high"
        return "medium" if self.stats.spread_days <= 6 else "low"


def history_of(logs: list[PeriodRecord]) -> CycleHistory:
    """The pure history of a user's stored logs."""
    return CycleHistory(
        [
            LoggedPeriod(
                start=date.fromisoformat(log.start_date),
                end=date.fromisoformat(log.end_date) if log.end_date else None,
            )
            for log in logs
        ]
    )


class CycleService:
    """Period logs and everything computed from them. Implements `CyclePositionLookup`."""

    def __init__(self, *, cycles: CyclesRepository, today: Callable[[str], date] | None = None) -> None:
        self._cycles = cycles
        # The user's local date from their timezone name (tests pass a fixed clock).
        self._today = today or local_today

    # --- what other domains ask ---

    def position_on(self, *, user_id: str, on: date) -> CyclePosition | None:
        """Cycle day and phase of a date; None for users who log no periods or outside their logs."""
        logs = self._cycles.periods(user_id=user_id)
        return history_of(logs).position(on) if logs else None

    def positions_on(self, *, user_id: str, dates: list[date]) -> dict[date, CyclePosition | None]:
        """`position_on` for many dates with one read of the logs."""
        logs = self._cycles.periods(user_id=user_id)
        history = history_of(logs) if logs else None
        return {on: history.position(on) if history else None for on in dates}

    def history(self, *, user_id: str) -> CycleHistory | None:
        """All of a user's logs at once (for many dates in one read); None when they track nothing."""
        logs = self._cycles.periods(user_id=user_id)
        return history_of(logs) if logs else None

    # --- the routes ---

    def get(self, *, user_id: str, period_id: str) -> PeriodRecord:
        """One of the user's logs (404 otherwise)."""
        for log in self._cycles.periods(user_id=user_id):
            if log.period_id == period_id:
                return log
        raise PeriodNotFoundError()

    def get_page(
        self, *, user_id: str, limit: int, cursor: str | None
    ) -> tuple[list[PeriodRecord], str | None]:
        """The history, newest start first."""
        return self._cycles.page(user_id=user_id, limit=limit, cursor=cursor)

    def log(self, *, user_id: str, timezone: str, changes: PeriodChanges) -> PeriodRecord:
        """Log a new period (422 if impossible or overlapping)."""
        start = changes.start_date
        assert start is not None  # PeriodCreate requires it
        now = utc_now()

        def build(_: list[PeriodRecord]) -> tuple[PeriodRecord, PeriodRecord | None]:
            return (
                PeriodRecord(
                    user_id=user_id,
                    period_id=new_id(),
                    start_date=start.isoformat(),
                    end_date=_iso(changes.end_date),
                    flow=changes.flow or Flow.MEDIUM,
                    symptoms=_unique(changes.symptoms or []),
                    created_at=now,
                    updated_at=now,
                ),
                None,
            )

        return self._write(user_id=user_id, timezone=timezone, build=build)

    def update(self, *, user_id: str, timezone: str, period_id: str, changes: PeriodChanges) -> PeriodRecord:
        """Change only the fields sent; an edit into an impossible log changes nothing (422)."""

        def build(logs: list[PeriodRecord]) -> tuple[PeriodRecord, PeriodRecord | None]:
            old = next((log for log in logs if log.period_id == period_id), None)
            if old is None:
                raise PeriodNotFoundError()
            values = old.model_dump()
            if "start_date" in changes.fields_set:
                if changes.start_date is None:
                    raise impossible("A period log needs a start date.", field_name="start_date")
                values["start_date"] = changes.start_date.isoformat()
            if "end_date" in changes.fields_set:
                values["end_date"] = _iso(changes.end_date)
            if "flow" in changes.fields_set:
                if changes.flow is None:
                    raise impossible("A period log needs a flow.", field_name="flow")
                values["flow"] = changes.flow
            if "symptoms" in changes.fields_set:
                values["symptoms"] = _unique(changes.symptoms or [])
            values["updated_at"] = utc_now()
            return PeriodRecord.model_validate(values), old

        return self._write(user_id=user_id, timezone=timezone, build=build)

    def delete(self, *, user_id: str, period_id: str) -> None:
        """Remove one log (404 if it is not the user's)."""
        for _ in range(_WRITE_ATTEMPTS):
            version = self._cycles.slot(user_id=user_id).version
            old = next((p for p in self._cycles.periods(user_id=user_id) if p.period_id == period_id), None)
            if old is None:
                raise PeriodNotFoundError()
            try:
                self._cycles.write(user_id=user_id, version=version, delete=old)
                return
            except SlotMoved:
                continue
            except UserGoneError as exc:
                raise AccountGoneError() from exc
        raise ConflictError("Your period logs changed meanwhile; try again.", code="cycle_log_busy")

    def predictions(self, *, user_id: str, timezone: str) -> Predictions:
        """The next three periods, or none with a reason."""
        logs = self._cycles.periods(user_id=user_id)
        if not logs:
            return Predictions(periods=[], stats=None, reason="no_periods_logged")
        history = history_of(logs)
        return Predictions(
            periods=history.predict(today=self._today(timezone)),
            stats=history.stats,
            reason="insufficient_history" if history.stats.insufficient_history else None,
        )

    def today(self, *, user_id: str, timezone: str) -> tuple[date, CyclePosition | None]:
        """The user's local date and where it falls in their cycle."""
        on = self._today(timezone)
        return on, self.position_on(user_id=user_id, on=on)

    # --- the one write path ---

    def _write(
        self,
        *,
        user_id: str,
        timezone: str,
        build: Callable[[list[PeriodRecord]], tuple[PeriodRecord, PeriodRecord | None]],
    ) -> PeriodRecord:
        today = self._today(timezone)
        for _ in range(_WRITE_ATTEMPTS):
            version = self._cycles.slot(user_id=user_id).version
            logs = self._cycles.periods(user_id=user_id)
            new, old = build(logs)
            check_log(new, others=[p for p in logs if p.period_id != new.period_id], today=today)
            try:
                self._cycles.write(user_id=user_id, version=version, put=new, delete=old)
                return new
            except SlotMoved:
                continue  # someone else wrote: read again and re-check against what they wrote
            except UserGoneError as exc:
                raise AccountGoneError() from exc
        raise ConflictError("Your period logs changed meanwhile; try again.", code="cycle_log_busy")


def local_today(timezone: str) -> date:
    """Today in the user's timezone (UTC when unset)."""
    return utc_now().astimezone(ZoneInfo(timezone or "UTC")).date()


def check_log(log: PeriodRecord, *, others: list[PeriodRecord], today: date) -> None:
    """422 naming the field when the log is impossible on its own or overlaps another."""
    start = date.fromisoformat(log.start_date)
    end = date.fromisoformat(log.end_date) if log.end_date else None
    if start > today:
        raise impossible("A period cannot start in the future.", field_name="start_date", today=_iso(today))
    if start < today - timedelta(days=MAX_HISTORY_DAYS):
        raise impossible("That start date is more than 15 years ago.", field_name="start_date")
    if end is not None:
        if end < start:
            raise impossible("A period cannot end before it starts.", field_name="end_date")
        if end > today:
            raise impossible(
                "The end date is in the future: leave it out until the period ends.",
                field_name="end_date",
                today=_iso(today),
            )
        if (end - start).days + 1 > MAX_PERIOD_DAYS:
            raise impossible(
                f"A period longer than {MAX_PERIOD_DAYS} days is not a period log; see a doctor "
                "about bleeding that lasts this long.",
                field_name="end_date",
                max_days=MAX_PERIOD_DAYS,
            )
    last_day = end or start
    for other in others:
        other_start = date.fromisoformat(other.start_date)
        other_end = date.fromisoformat(other.end_date) if other.end_date else other_start
        if start <= other_end and other_start <= last_day:
            field_name = "start_date" if other_start <= start <= other_end else "end_date"
            raise impossible(
                "This period overlaps another log.",
                field_name=field_name,
                overlaps_period_id=other.period_id,
                overlaps=[other.start_date, other.end_date],
            )


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _unique(symptoms: list[Symptom]) -> list[Symptom]:
    return list(dict.fromkeys(symptoms))


__all__ = ["MIN_COMPLETE_CYCLES", "NOT_CONTRACEPTION", "CycleService", "PeriodChanges", "Predictions"]
