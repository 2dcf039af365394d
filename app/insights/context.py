"""The chat context's cycle section: today's position, the next period, the insight's findings."""

from typing import Any

from app.auth.models import UserRecord
from app.cycles.service import CycleService, local_today
from app.insights.service import CycleInsightService


class CycleChatContext:
    """Called by the chat context builder; None for users who log no periods (one read of the logs)."""

    def __init__(self, *, cycles: CycleService, insights: CycleInsightService) -> None:
        self._cycles = cycles
        self._insights = insights

    def __call__(self, user: UserRecord) -> dict[str, Any] | None:
        history = self._cycles.history(user_id=user.user_id)
        if history is None:
            return None
        insight = self._insights.for_user(user=user, history=history)
        on = local_today(user.timezone)
        position = history.position(on)
        upcoming = next(iter(history.predict(today=on)), None)
        scans = [m.count for s in insight.sources if s.kind == "scan" for m in s.metrics]
        return {
            "today": (
                {"date": on.isoformat(), "cycle_day": position.cycle_day, "phase": position.phase.value}
                if position
                else None
            ),
            "next_period": (
                {
                    "start_date": upcoming.start.isoformat(),
                    "window_start": upcoming.window_start.isoformat(),
                    "window_end": upcoming.window_end.isoformat(),
                    "insufficient_history": history.stats.insufficient_history,
                }
                if upcoming
                else None
            ),
            "insight": {
                "findings": insight.findings,
                "meaningful": [
                    {
                        "kind": source.kind,
                        "metric": metric.metric,
                        "phase": figure.phase.value,
                        "difference": figure.difference,
                        "count": figure.count,
                    }
                    for source in insight.sources
                    for metric in source.metrics
                    for figure in metric.phases
                    if figure.meaningful
                ],
                "scans_positioned": max(scans, default=0),
            },
            "routine_step": insight.routine_step.model_dump() if insight.routine_step else None,
        }
