"""What the assistant is told about a user: derived numbers and text only, never photos."""

from collections.abc import Callable
from statistics import fmean
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from app.auth.models import UserRecord
from app.core.security import utc_now
from app.plans.service import PlanService
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
    ) -> None:
        self._scans = scans
        self._plans = plans
        self._skin_logs = skin_logs
        # The user's cycle section (app/insights/context.py); None without cycle tracking.
        self._cycle = cycle

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
        scan = self._scans.latest_completed(user_id=user.user_id)
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
        plan_record = self._plans.find_active(user_id=user.user_id)
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
            skin_logs=self._recent_skin_logs(user.user_id),
            cycle=self._cycle(user) if self._cycle else None,
        )

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
