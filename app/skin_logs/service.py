"""Skin logs: the rules (dates, the user's own scan, cycle fields, reactions on the plan)."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.auth.models import UserRecord
from app.core.errors import (
    AccountGoneError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    UnprocessableError,
)
from app.core.logging import audit
from app.core.security import iso, new_id, parse_iso, utc_now
from app.cycles.position import CyclePositionLookup
from app.db.guards import UserGoneError
from app.plans.service import PlanService
from app.plans.timeline import user_today
from app.scans.errors import ScanNotFoundError
from app.scans.repository import ScansRepository
from app.skin_logs.models import SLIDERS, SkinLogRecord
from app.skin_logs.repository import SkinLogChanged, SkinLogsRepository
from app.skin_logs.schemas import MIN_LOG_DATE

# A reaction the plan's check-in rules care about.
PLAN_REACTIONS = {"mild", "severe"}
CYCLE_FIELDS = ("cycle_day", "cycle_phase")
RATINGS = ("breakouts", *SLIDERS)


class SkinLogNotFoundError(NotFoundError):
    code = "skin_log_not_found"
    message = "No such skin log."


@dataclass
class SkinLogWrite:
    """A stored log and what its reaction did to the active plan (advice, which plan)."""

    log: SkinLogRecord
    advice: str | None = None
    plan_id: str | None = None


class SkinLogService:
    def __init__(
        self,
        *,
        logs: SkinLogsRepository,
        scans: ScansRepository,
        plans: PlanService,
        cycles: CyclePositionLookup,
    ) -> None:
        self._logs = logs
        self._scans = scans
        self._plans = plans
        self._cycles = cycles

    # ---- writes ----

    def create(self, *, user: UserRecord, data: dict[str, Any]) -> SkinLogWrite:
        """A new log; cycle fields from the cycles domain; a reaction applied to the active plan."""
        now = utc_now()
        day: date = data["date"]
        self._check_date(user=user, day=day, now=now)
        if data.get("scan_id"):
            self._check_scan(user=user, scan_id=data["scan_id"], day=day)
        fields = {k: v for k, v in data.items() if k != "date"}
        log = SkinLogRecord(
            user_id=user.user_id,
            log_id=new_id(),
            log_date=day.isoformat(),
            created_at=now,
            updated_at=now,
            **fields,
            **self._cycle_fields(user_id=user.user_id, day=day),
        )
        try:
            self._logs.create(log=log)
        except UserGoneError as exc:
            raise AccountGoneError() from exc
        audit("skin_log.created", user_id=user.user_id, log_id=log.log_id)
        return self._with_reaction(log)

    def update(self, *, user: UserRecord, log_id: str, changes: dict[str, Any]) -> SkinLogWrite:
        """Change only the fields sent; a new date moves the log (and refreshes its cycle fields)."""
        log = self.get(user_id=user.user_id, log_id=log_id)
        if not changes:
            return SkinLogWrite(log=log)
        now = utc_now()
        new_day: date | None = changes.pop("date", None)
        day = new_day or date.fromisoformat(log.log_date)
        if new_day is not None:
            self._check_date(user=user, day=new_day, now=now)
        if all(getattr(log.model_copy(update=changes), name) is None for name in RATINGS):
            raise UnprocessableError(
                "A skin log keeps at least one rating (breakouts or a slider).", code="log_needs_a_rating"
            )
        scan_id = changes.get("scan_id", log.scan_id)
        if scan_id and ("scan_id" in changes or new_day is not None):
            self._check_scan(user=user, scan_id=scan_id, day=day)
        if new_day is not None and new_day.isoformat() != log.log_date:
            moved = log.model_copy(
                update={
                    **changes,
                    "log_date": new_day.isoformat(),
                    "updated_at": now,
                    **dict.fromkeys(CYCLE_FIELDS),
                    **self._cycle_fields(user_id=user.user_id, day=new_day),
                }
            )
            moved = SkinLogRecord.model_validate(moved.model_dump())
            try:
                self._logs.move(old=log, new=moved)
            except UserGoneError as exc:
                raise AccountGoneError() from exc
            except SkinLogChanged as exc:
                raise _changed() from exc
            updated = moved
        else:
            try:
                updated = self._logs.update_fields(log=log, changes={**changes, "updated_at": iso(now)})
            except SkinLogChanged as exc:
                raise _changed() from exc
        audit("skin_log.updated", user_id=user.user_id, log_id=log_id, fields=sorted(changes))
        if "reaction" in changes or new_day is not None:
            return self._with_reaction(updated)
        return SkinLogWrite(log=updated)

    def delete(self, *, user_id: str, log_id: str) -> None:
        """Remove one log (404 if it is not the user's)."""
        log = self.get(user_id=user_id, log_id=log_id)
        self._logs.delete(log=log)
        audit("skin_log.deleted", user_id=user_id, log_id=log_id)

    # ---- reads ----

    def get(self, *, user_id: str, log_id: str) -> SkinLogRecord:
        """One of the user's logs; another user's is simply not found."""
        log = self._logs.get(user_id=user_id, log_id=log_id)
        if log is None:
            raise SkinLogNotFoundError()
        return log

    def page(
        self,
        *,
        user_id: str,
        date_from: date | None,
        date_to: date | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[SkinLogRecord], str | None]:
        """Logs in a date range (inclusive), newest date first."""
        if date_from and date_to and date_from > date_to:
            raise BadRequestError("`from` must not be after `to`.", code="invalid_date_range")
        return self._logs.page(
            user_id=user_id,
            date_from=date_from.isoformat() if date_from else None,
            date_to=date_to.isoformat() if date_to else None,
            limit=limit,
            cursor=cursor,
        )

    def recent(self, *, user_id: str, limit: int) -> list[SkinLogRecord]:
        """The newest `limit` logs (chat context)."""
        logs, _ = self._logs.page(user_id=user_id, date_from=None, date_to=None, limit=limit, cursor=None)
        return logs

    # ---- rules ----

    def _check_date(self, *, user: UserRecord, day: date, now: datetime) -> None:
        today = user_today(user, now)
        if day > today or day < MIN_LOG_DATE:
            raise UnprocessableError(
                "A skin log's date must be between 2000-01-01 and today.",
                code="log_date_out_of_range",
                details={"today": today.isoformat()},
            )

    def _check_scan(self, *, user: UserRecord, scan_id: str, day: date) -> None:
        """The scan must be the user's own (else 404, as for any other user's object) and of that day."""
        scan = self._scans.get(user_id=user.user_id, scan_id=scan_id)
        if scan is None:
            raise ScanNotFoundError()
        taken = parse_iso(scan.scan_date).astimezone(ZoneInfo(user.timezone or "UTC")).date()
        if taken != day:
            raise UnprocessableError(
                "The scan was not taken on the log's date.",
                code="scan_not_same_day",
                details={"scan_date": taken.isoformat(), "log_date": day.isoformat()},
            )

    def _cycle_fields(self, *, user_id: str, day: date) -> dict[str, Any]:
        position = self._cycles.position_on(user_id=user_id, on=day)
        if position is None:
            return {}
        return {"cycle_day": position.cycle_day, "cycle_phase": str(position.phase)}

    def _with_reaction(self, log: SkinLogRecord) -> SkinLogWrite:
        """Apply a mild/severe reaction to the active plan with the check-in's own rule."""
        if log.reaction not in PLAN_REACTIONS:
            return SkinLogWrite(log=log)
        outcome = self._plans.report_reaction(
            user_id=log.user_id, on=date.fromisoformat(log.log_date), severity=log.reaction
        )
        if outcome is None:
            return SkinLogWrite(log=log)
        return SkinLogWrite(log=log, advice=outcome.advice, plan_id=outcome.plan.plan_id)


def _changed() -> ConflictError:
    return ConflictError("The skin log changed meanwhile; reload it.", code="skin_log_changed")
