"""What the assistant is told about a user: derived numbers and text only, never photos."""

from collections.abc import Callable
from statistics import fmean
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from app.auth.models import UserRecord
from app.chat.context_reads import ContextReads, PointerRepair, pointer_id
from app.core.security import utc_now
from app.db.guards import (
    NO_POINTER,
    PLAN_POINTER,
    SCAN_POINTER,
    TRACK_CYCLES,
    TRACK_SKIN_LOGS,
    TRACKING_CHECKED,
)
from app.plans.models import PlanRecord
from app.plans.service import CURRENT_STATUSES, PlanService
from app.plans.timeline import adherence, plan_timeline
from app.providers.assistant.base import ChatContext
from app.scans.repository import ScanRecord, ScansRepository

if TYPE_CHECKING:
    from app.skin_logs.service import SkinLogService

# The assistant sees the last two weeks or so of self-ratings, never the whole history.
RECENT_SKIN_LOGS = 14
_SKIN_LOG_FIELDS = ("breakouts", "dryness", "oiliness", "sensitivity", "radiance", "reaction", "notes")


class ChatContextBuilder:
    def __init__(
        self,
        *,
        scans: ScansRepository,
        plans: PlanService,
        skin_logs: "SkinLogService | None" = None,
        cycle: Callable[[UserRecord], dict[str, Any] | None] | None = None,
        mark_tracking: Callable[[str, list[str]], None] | None = None,
        reads: ContextReads | None = None,
        repair_pointer: PointerRepair | None = None,
    ) -> None:
        self._scans = scans
        self._plans = plans
        self._skin_logs = skin_logs
        # The user's cycle section (app/insights/context.py); None without cycle tracking.
        self._cycle = cycle
        # (user id, features) → added to the user's `tracking` set (UsersRepository.add_tracking).
        self._mark_tracking = mark_tracking
        # The scan and plan by the user item's pointers, in one call (app/chat/context_reads.py).
        self._reads = reads
        self._repair_pointer = repair_pointer

    def __call__(self, user: UserRecord) -> ChatContext:
        now = utc_now()
        profile = {
            "full_name": user.full_name,
            "skin_type": user.skin_type,
            "primary_concern": user.primary_concern,
            "concerns": user.concerns,
            "sensitivities": user.sensitivities,
            "pregnant_or_breastfeeding": user.pregnant_or_breastfeeding,
            "age": now.year - user.birth_year if user.birth_year else None,
        }
        scan, plan_record = self._scan_and_plan(user)
        latest_scan = (
            {
                "scan_id": scan.scan_id,
                "scan_date": scan.scan_date,
                "scores": scan.scores,
                "deltas": scan.deltas.model_dump() if scan.deltas else None,
                "regions": region_scores(scan),
                **scan_cycle(scan),
            }
            if scan
            else None
        )
        plan = None
        plan_adherence = None
        if plan_record:
            timeline = plan_timeline(plan_record, user, now)
            routine = plan_record.routine.model_dump(mode="json")
            plan = {
                "plan_id": plan_record.plan_id,
                "status": plan_record.status,
                "start_date": plan_record.start_date,
                "baseline_scores": plan_record.baseline_scores,
                "primary_concerns": routine["primary_concerns"],
                "am": routine["am"],
                "pm": routine["pm"],
                "night_treatments": routine["night_treatments"],
                "weekly_schedule": routine["weekly_schedule"],
                "reasoning": routine["reasoning"],
                "warnings": plan_record.warnings,
                **timeline,
            }
            plan_adherence = adherence(plan_record, user, now)
        today = now.astimezone(ZoneInfo(user.timezone or "UTC")).date().isoformat()
        return ChatContext(
            profile=profile,
            latest_scan=latest_scan,
            plan=plan,
            adherence=plan_adherence,
            today=today,
            **self._tracked_sections(user),
        )

    def _scan_and_plan(self, user: UserRecord) -> tuple[ScanRecord | None, PlanRecord | None]:
        """The latest completed scan and the current plan: one BatchGetItem when the pointers are known."""
        if self._reads is None:
            return self._scans.latest_completed(user_id=user.user_id), self._plans.find_active(
                user_id=user.user_id
            )
        scan_pointer, plan_pointer = user.latest_scan_id, user.current_plan_id
        scan, plan = self._reads.scan_and_plan(
            user_id=user.user_id, scan_id=pointer_id(scan_pointer), plan_id=pointer_id(plan_pointer)
        )
        if scan_pointer is None or (pointer_id(scan_pointer) and not _usable(scan)):
            # Unknown (an account from before the pointer), or the scan it named was deleted.
            scan = self._scans.latest_completed(user_id=user.user_id, consistent=True)
            self._repair(user.user_id, SCAN_POINTER, scan.scan_id if scan else NO_POINTER, scan_pointer)
        if plan_pointer is None:
            plan = self._plans.find_active(user_id=user.user_id)
            self._repair(user.user_id, PLAN_POINTER, plan.plan_id if plan else NO_POINTER, None)
        # The pointer names the newest plan; once it is completed or abandoned there is none current.
        return scan, plan if plan is not None and plan.status in CURRENT_STATUSES else None

    def _repair(self, user_id: str, pointer: str, value: str, seen: str | None) -> None:
        if self._repair_pointer is not None:
            self._repair_pointer(user_id, pointer, value, seen)

    def _tracked_sections(self, user: UserRecord) -> dict[str, Any]:
        """Skin logs and cycle, each read only if the user's `tracking` marker says (or may say) so.

        An account from before the marker existed is looked at once: what was found (and that
        it was looked at) is added to its marker, so its next message reads only what it uses.
        """
        skin_known = user.tracks(TRACK_SKIN_LOGS)
        cycle_known = user.tracks(TRACK_CYCLES)
        skin_logs = self._recent_skin_logs(user.user_id) if skin_known is not False else None
        cycle = self._cycle(user) if self._cycle and cycle_known is not False else None
        unknown = skin_known is None or cycle_known is None
        if unknown and self._mark_tracking and self._skin_logs is not None and self._cycle is not None:
            found = [TRACKING_CHECKED]
            # Any log at all marks the feature; `skin_logs` is None when there was none.
            found += [TRACK_SKIN_LOGS] if skin_known is None and skin_logs else []
            found += [TRACK_CYCLES] if cycle_known is None and cycle is not None else []
            self._mark_tracking(user.user_id, found)
        return {"skin_logs": skin_logs, "cycle": cycle}

    def _recent_skin_logs(self, user_id: str) -> list[dict[str, Any]] | None:
        """The newest self-rated logs, only the fields the assistant can talk about."""
        if self._skin_logs is None:
            return None
        logs = self._skin_logs.recent(user_id=user_id, limit=RECENT_SKIN_LOGS)
        return [
            {
                "date": log.log_date,
                **{name: getattr(log, name) for name in _SKIN_LOG_FIELDS if getattr(log, name) is not None},
                **({"cycle_day": log.cycle_day, "cycle_phase": log.cycle_phase} if log.cycle_phase else {}),
            }
            for log in logs
        ] or None


def _usable(scan: ScanRecord | None) -> bool:
    """Whether a pointed-at scan is still what the pointer promises (completed, passed quality)."""
    return scan is not None and scan.status == "completed" and bool(scan.passed_quality)


def region_scores(scan: ScanRecord) -> dict[str, float]:
    """Face area → the mean of its metric scores over every photo of the scan (for 'which part is best')."""
    collected: dict[str, list[float]] = {}
    for angle in scan.analysis.angles if scan.analysis else []:
        for region, metrics in angle.regions.items():
            values = [float(v) for v in metrics.values()]
            if values:
                collected.setdefault(region, []).append(fmean(values))
    return {region: round(fmean(values), 1) for region, values in collected.items()}


def scan_cycle(scan: ScanRecord) -> dict[str, Any]:
    """The scan's cycle day and phase at scan time, when the user tracks their cycle."""
    if scan.cycle_day is None:
        return {}
    return {"cycle_day": scan.cycle_day, "cycle_phase": scan.cycle_phase}
