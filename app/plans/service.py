"""Treatment plans: generation from a completed scan, the lock, status changes, check-ins.

The routine itself comes from the pure routine engine; this module loads and saves around
it and owns the rules about the lock and check-ins. The computed views (timeline, adherence)
are pure and live in `app.plans.timeline`.
"""

import logging
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from app.auth.models import UserRecord
from app.core.errors import AccountGoneError, ConflictError, NotFoundError, UnprocessableError
from app.core.logging import audit
from app.core.security import iso, new_id, parse_iso, utc_now
from app.db.guards import UserGoneError
from app.plans.repository import CheckIn, PlanConflict, PlanRecord, PlansRepository
from app.plans.timeline import user_today
from app.routine_engine.builder import build_plan
from app.routine_engine.models import EngineProfile, RoutinePlan
from app.scans.repository import ScanRecord, ScansRepository

logger = logging.getLogger("dermalens.plans")

ADVERSE_REACTION = "adverse_reaction"
TRANSITIONS: dict[str, set[str]] = {
    "active": {"paused", "completed", "abandoned"},
    "paused": {"active", "completed", "abandoned"},
}
# A plan in one of these is the slot's current plan; any other status has been released.
CURRENT_STATUSES = frozenset({"active", "paused"})
SEVERE_REACTION_WARNING = (
    "You reported a severe reaction on {date}: stop the active products (keep a gentle cleanser, "
    "moisturiser and sunscreen) and see a dermatologist. You can start a new, gentler plan by "
    "reporting an adverse reaction."
)


@dataclass
class CheckInOutcome:
    """A recorded check-in, the plan as it is now, and the advice to show (a severe reaction)."""

    plan: PlanRecord
    checkin: CheckIn
    advice: str | None


@dataclass
class ReactionOutcome:
    """A reaction reported outside a check-in (a skin log) and what it did to the active plan."""

    plan: PlanRecord
    advice: str | None


def reaction_advice(*, severity: str | None, on: str) -> str | None:
    """The check-in rule for a reaction: a severe one gets the stop-and-see-a-dermatologist advice."""
    return SEVERE_REACTION_WARNING.format(date=on) if severity == "severe" else None


class PlanEvents(Protocol):
    """Who hears that a plan started or a severe reaction was reported (notifications)."""

    def plan_created(self, user: UserRecord, plan: PlanRecord) -> None: ...

    def severe_reaction(self, user: UserRecord, plan: PlanRecord, checkin: CheckIn) -> None: ...


class PlanNotFoundError(NotFoundError):
    code = "plan_not_found"
    message = "No such plan."


class PlanLockedError(ConflictError):
    code = "plan_locked"


def _age(user: UserRecord, now: datetime) -> int | None:
    return now.year - user.birth_year if user.birth_year else None


def engine_profile(user: UserRecord, now: datetime) -> EngineProfile:
    concerns = list(
        dict.fromkeys([*(user.concerns or []), *([user.primary_concern] if user.primary_concern else [])])
    )
    return EngineProfile(
        skin_type=user.skin_type,
        concerns=concerns,
        sensitivities=user.sensitivities,
        pregnant_or_breastfeeding=user.pregnant_or_breastfeeding,
        age=_age(user, now),
    )


class PlanService:
    def __init__(
        self,
        *,
        plans: PlansRepository,
        scans: ScansRepository,
        lock_days: int,
        events: PlanEvents | None = None,
    ) -> None:
        self._plans = plans
        self._scans = scans
        self._lock_days = lock_days
        self._events = events

    # ---- creation ----

    def create(self, *, user: UserRecord, scan_id: str | None, override_reason: str | None) -> PlanRecord:
        """A new plan from the given (or latest) completed scan; refused while the current one is locked."""
        scan = self._baseline_scan(user_id=user.user_id, scan_id=scan_id)
        now = utc_now()
        slot = self._plans.get_slot(user_id=user.user_id)
        self._refuse_if_locked(
            lock_until=slot.lock_until, plan_id=slot.current_plan_id, override=override_reason, now=now
        )
        previous = (
            self._plans.get(user_id=user.user_id, plan_id=slot.current_plan_id)
            if slot.current_plan_id
            else None
        )
        routine = build_plan(profile=engine_profile(user, now), scores=scan.scores or {})
        plan = self._new_record(
            user=user, scan=scan, routine=routine, now=now, override_reason=override_reason, previous=previous
        )
        previous_status = (
            ("replaced" if override_reason == ADVERSE_REACTION else "completed") if previous else None
        )
        try:
            self._plans.create(plan=plan, slot=slot, previous=previous, previous_status=previous_status)
        except PlanConflict as exc:
            # A concurrent request created a plan first: answer as if we had come second.
            fresh = self._plans.get_slot(user_id=user.user_id)
            self._refuse_if_locked(
                lock_until=fresh.lock_until, plan_id=fresh.current_plan_id, override=override_reason, now=now
            )
            raise ConflictError(
                "Another plan was created at the same time; retry.", code="plan_conflict"
            ) from exc
        except UserGoneError as exc:
            # The account was deleted (or is being deleted) after this request was authenticated.
            raise AccountGoneError() from exc
        audit("plan.created", user_id=user.user_id, plan_id=plan.plan_id, override=override_reason)
        if self._events:
            self._events.plan_created(user, plan)
        return plan

    def _baseline_scan(self, *, user_id: str, scan_id: str | None) -> ScanRecord:
        if scan_id:
            scan = self._scans.get(user_id=user_id, scan_id=scan_id)
            if scan is None:
                raise NotFoundError("No such scan.", code="scan_not_found")
            if scan.status != "completed" or not scan.passed_quality:
                raise ConflictError(
                    "A plan needs a completed scan.",
                    code="scan_not_completed",
                    details={"status": scan.status},
                )
            return scan
        latest = self._scans.latest_completed(user_id=user_id)
        if latest is None:
            raise ConflictError(
                "Complete a scan first: the plan is built from your scores.", code="no_completed_scan"
            )
        return latest

    def _refuse_if_locked(
        self, *, lock_until: str | None, plan_id: str | None, override: str | None, now: datetime
    ) -> None:
        if not lock_until or lock_until <= iso(now) or override == ADVERSE_REACTION:
            return
        remaining = math.ceil((parse_iso(lock_until) - now).total_seconds() / 86400)
        raise PlanLockedError(
            f"Your plan is locked for {remaining} more day(s) so it can work through a full skin cycle. "
            "Report an adverse reaction to change it now.",
            details={"days_remaining": remaining, "locked_until": lock_until, "plan_id": plan_id},
        )

    def _new_record(
        self,
        *,
        user: UserRecord,
        scan: ScanRecord,
        routine: RoutinePlan,
        now: datetime,
        override_reason: str | None,
        previous: PlanRecord | None,
    ) -> PlanRecord:
        return PlanRecord(
            user_id=user.user_id,
            plan_id=new_id(),
            status="active",
            baseline_scan_id=scan.scan_id,
            baseline_scores=scan.scores or {},
            routine=routine,
            engine_version=routine.engine_version,
            start_date=user_today(user, now).isoformat(),
            lock_days=self._lock_days,
            lock_until=iso(now + timedelta(days=self._lock_days)),
            created_at=now,
            updated_at=now,
            timezone=user.timezone or "UTC",
            override_reason=override_reason,
            replaces_plan_id=previous.plan_id if previous else None,
            warnings=list(routine.warnings),
        )

    # ---- reading ----

    def get(self, *, user_id: str, plan_id: str) -> PlanRecord:
        plan = self._plans.get(user_id=user_id, plan_id=plan_id)
        if plan is None:
            raise PlanNotFoundError()
        return plan

    def get_active(self, *, user_id: str) -> PlanRecord:
        """The current plan (404 `no_active_plan`)."""
        plan = self.find_active(user_id=user_id)
        if plan is None:
            raise NotFoundError(
                "You have no active plan; create one from a completed scan.", code="no_active_plan"
            )
        return plan

    def find_active(self, *, user_id: str) -> PlanRecord | None:
        """The current plan, if it is active or paused.

        One query instead of slot + plan: the slot names the newest plan (a creation writes
        both in one transaction, ids are time-ordered) until that plan is completed or
        abandoned, which the same transaction records on the plan itself.
        """
        plan = self._plans.newest(user_id=user_id)
        return plan if plan is not None and plan.status in CURRENT_STATUSES else None

    def get_page(
        self, *, user_id: str, limit: int, cursor: str | None
    ) -> tuple[list[PlanRecord], str | None]:
        return self._plans.get_page(user_id=user_id, limit=limit, cursor=cursor)

    def baseline_scan(self, user_id: str) -> ScanRecord | None:
        """The current plan's baseline scan (for scan deltas)."""
        plan = self.find_active(user_id=user_id)
        return self._scans.get(user_id=user_id, scan_id=plan.baseline_scan_id) if plan else None

    # ---- status ----

    def set_status(self, *, user_id: str, plan_id: str, status: str) -> PlanRecord:
        plan = self.get(user_id=user_id, plan_id=plan_id)
        if status == plan.status:
            return plan
        if status not in TRANSITIONS.get(plan.status, set()):
            raise ConflictError(
                f"A plan cannot go from {plan.status} to {status}.",
                code="invalid_status_transition",
                details={
                    "from": plan.status,
                    "to": status,
                    "allowed": sorted(TRANSITIONS.get(plan.status, set())),
                },
            )
        ending = status in {"completed", "abandoned"}
        changed = self._plans.set_status(
            plan=plan, status=status, allowed_from=(plan.status,), now=iso(utc_now()), release_slot=ending
        )
        if not changed:
            raise ConflictError("The plan changed meanwhile; reload it.", code="plan_changed")
        audit("plan.status_changed", user_id=user_id, plan_id=plan_id, status=status)
        return self.get(user_id=user_id, plan_id=plan_id)

    # ---- check-ins ----

    def check_in(self, *, user: UserRecord, plan_id: str, checkin: dict[str, Any]) -> CheckInOutcome:
        """Record a day (a later check-in for the same date replaces it); a severe reaction warns."""
        plan = self.get(user_id=user.user_id, plan_id=plan_id)
        if plan.status not in {"active", "paused"}:
            raise ConflictError("Check-ins are for an active or paused plan.", code="plan_not_active")
        day: date = checkin["date"]
        today = user_today(user, utc_now())
        if day < date.fromisoformat(plan.start_date) or day > today:
            raise UnprocessableError(
                "The date must be between the plan's start and today.",
                code="checkin_date_out_of_range",
                details={"start_date": plan.start_date, "today": today.isoformat()},
            )
        record = CheckIn(
            date=day.isoformat(),
            am_done=checkin["am_done"],
            pm_done=checkin["pm_done"],
            skipped_steps=checkin.get("skipped_steps") or [],
            reaction=checkin.get("reaction"),
            recorded_at=utc_now(),
        )
        severity = record.reaction.severity if record.reaction else None
        advice, warning = self._reaction_rule(plan=plan, severity=severity, on=day)
        updated = self._plans.put_checkin(plan=plan, checkin=record, extra_warning=warning)
        if advice:
            audit("plan.severe_reaction", user_id=user.user_id, plan_id=plan_id)
            if self._events:
                self._events.severe_reaction(user, updated, record)
        return CheckInOutcome(plan=updated, checkin=record, advice=advice)

    def report_reaction(self, *, user_id: str, on: date, severity: str) -> ReactionOutcome | None:
        """A reaction logged outside a check-in (a skin log) gets the check-in's rule on the active plan.

        None when there is no active or paused plan, or the day is before the plan started
        (the reaction cannot be about it).
        """
        plan = self.find_active(user_id=user_id)
        if (
            plan is None
            or plan.status not in {"active", "paused"}
            or on < date.fromisoformat(plan.start_date)
        ):
            return None
        advice, warning = self._reaction_rule(plan=plan, severity=severity, on=on)
        if warning:
            plan = self._plans.add_warning(plan=plan, warning=warning)
        if advice:
            audit("plan.severe_reaction", user_id=user_id, plan_id=plan.plan_id, source="skin_log")
        return ReactionOutcome(plan=plan, advice=advice)

    @staticmethod
    def _reaction_rule(*, plan: PlanRecord, severity: str | None, on: date) -> tuple[str | None, str | None]:
        """(advice to show, warning to add to the plan): the one rule for check-ins and skin logs."""
        advice = reaction_advice(severity=severity, on=on.isoformat())
        # The advice joins the plan's warnings once per date, however often the day is re-logged.
        warning = advice if advice and advice not in plan.warnings else None
        return advice, warning
