"""The statistics sections: pure computations over the loaded inputs (no I/O).

A new section (e.g. the skin log's numbers) implements `StatisticsSection` and is added to
the list in `app/bootstrap.py`; a section needing other data reads it itself in `compute`.
"""

from datetime import date, datetime
from typing import Protocol

from pydantic import BaseModel

from app.auth.models import UserRecord
from app.core.security import parse_iso
from app.core.vocabulary import METRICS
from app.notifications.schedule import rescan_due_on
from app.plans.timeline import adherence, plan_timeline
from app.scans.progress import progress as metric_series
from app.statistics.repository import StatisticsInputs
from app.statistics.schemas import MetricChange, MetricScore, PlanStatistics, RescanStatistics, ScanStatistics


class StatisticsSection(Protocol):
    name: str

    def compute(self, *, user: UserRecord, inputs: StatisticsInputs, now: datetime) -> BaseModel:
        """This section's numbers."""
        ...


class ScansSection:
    name = "scans"

    def compute(self, *, user: UserRecord, inputs: StatisticsInputs, now: datetime) -> ScanStatistics:  # noqa: ARG002 - the section signature
        scans = inputs.scans
        if not scans:
            return ScanStatistics(
                scans_done=0,
                first_scan_at=None,
                latest_scan_at=None,
                first_overall=None,
                latest_overall=None,
                overall_change=None,
                best_improving_metric=None,
                worst_metric=None,
            )
        first, latest = scans[0], scans[-1]
        first_overall, latest_overall = first.scores.get("overall"), latest.scores.get("overall")
        # Each metric's change and its noise verdict, as /progress has them (on the current scale).
        progress = {m.metric: m for m in metric_series(scans, None) if m.change_since_first is not None}
        gains = {
            name: m.change_since_first
            for name, m in progress.items()
            if name != "overall" and m.change_since_first and m.change_since_first > 0 and not m.within_noise
        }
        best = max(gains.items(), key=lambda kv: kv[1]) if gains else None
        overall = progress.get("overall")
        worst = min(
            ((m, latest.scores[m]) for m in METRICS if m in latest.scores), key=lambda kv: kv[1], default=None
        )
        return ScanStatistics(
            scans_done=len(scans),
            first_scan_at=first.scan_date,
            latest_scan_at=latest.scan_date,
            first_overall=first_overall,
            latest_overall=latest_overall,
            overall_change=overall.change_since_first if overall else None,
            overall_within_noise=overall.within_noise if overall else None,
            best_improving_metric=MetricChange(metric=best[0], change=round(best[1], 1)) if best else None,
            worst_metric=MetricScore(metric=worst[0], score=worst[1]) if worst else None,
        )


class PlanSection:
    name = "plan"

    def compute(self, *, user: UserRecord, inputs: StatisticsInputs, now: datetime) -> PlanStatistics:
        plan = inputs.plan
        if plan is None or plan.status not in {"active", "paused"}:
            return PlanStatistics(has_active_plan=False)
        numbers = adherence(plan, user, now)
        timeline = plan_timeline(plan, user, now)
        return PlanStatistics(
            has_active_plan=True,
            plan_id=plan.plan_id,
            am_percent=numbers["am_percent"],
            pm_percent=numbers["pm_percent"],
            adherence_percent=round((numbers["am_percent"] + numbers["pm_percent"]) / 2, 1),
            current_streak_days=numbers["streak_days"],
            days_until_unlock=timeline["days_remaining"],
        )


class RescanSection:
    name = "rescan"

    def compute(self, *, user: UserRecord, inputs: StatisticsInputs, now: datetime) -> RescanStatistics:
        prefs = inputs.preferences
        interval = prefs.rescan_interval_days
        if not inputs.scans:
            return RescanStatistics(rescan_interval_days=interval)
        zone = prefs.zone(user.timezone)
        due: date = rescan_due_on(parse_iso(inputs.scans[-1].scan_date), interval_days=interval, zone=zone)
        days = (due - now.astimezone(zone).date()).days
        return RescanStatistics(
            rescan_interval_days=interval,
            next_rescan_due_date=due,
            days_until_rescan=max(0, days),
            overdue=days < 0,
        )


def default_sections() -> list[StatisticsSection]:
    return [ScansSection(), PlanSection(), RescanSection()]


__all__ = ["StatisticsSection", "default_sections"]
