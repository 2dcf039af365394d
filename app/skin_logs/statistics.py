"""The skin log's statistics section: the user's own ratings of the last 30 days, kept apart from scans."""

from collections import Counter
from datetime import datetime, timedelta
from statistics import fmean

from app.auth.models import UserRecord
from app.db.guards import TRACK_SKIN_LOGS
from app.skin_logs.models import SLIDERS, SkinLogRecord
from app.skin_logs.repository import SkinLogsRepository
from app.skin_logs.schemas import SelfRatedStatistics
from app.statistics.repository import StatisticsInputs

WINDOW_DAYS = 30
# One page holds a month of daily logs with room for several a day.
MAX_LOGS = 100


class SelfRatedSection:
    """How the user rated their skin lately: averages, breakout days, reactions (one Query, none for non-loggers)."""

    name = "self_rated"

    def __init__(self, *, logs: SkinLogsRepository) -> None:
        self._logs = logs

    def compute(self, *, user: UserRecord, inputs: StatisticsInputs, now: datetime) -> SelfRatedStatistics:
        today = now.astimezone(inputs.preferences.zone(user.timezone)).date()
        since = today - timedelta(days=WINDOW_DAYS - 1)
        # The user item's tracking marker (already read by auth) says when there is nothing to read.
        logs: list[SkinLogRecord] = []
        if user.tracks(TRACK_SKIN_LOGS) is not False:
            logs, _ = self._logs.page(
                user_id=user.user_id,
                date_from=since.isoformat(),
                date_to=today.isoformat(),
                limit=MAX_LOGS,
                cursor=None,
            )
        averages = {
            name: round(fmean(values), 1)
            for name in SLIDERS
            if (values := [float(v) for log in logs if (v := getattr(log, name)) is not None])
        }
        breakouts = Counter(log.breakouts for log in logs if log.breakouts is not None)
        reactions = Counter(log.reaction for log in logs if log.reaction != "none")
        return SelfRatedStatistics(
            window_days=WINDOW_DAYS,
            logs=len(logs),
            days_logged=len({log.log_date for log in logs}),
            latest_log_date=max((log.log_date for log in logs), default=None),
            averages=averages,
            breakout_days={level: breakouts.get(level, 0) for level in ("none", "few", "many")},
            mild_reactions=reactions.get("mild", 0),
            severe_reactions=reactions.get("severe", 0),
        )
