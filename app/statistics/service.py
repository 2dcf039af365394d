"""GET /users/me/statistics: one load (three DynamoDB calls), then every section computes."""

from collections.abc import Sequence
from typing import Any

from app.auth.models import UserRecord
from app.core.security import utc_now
from app.statistics.repository import StatisticsRepository
from app.statistics.sections import StatisticsSection


class StatisticsService:
    def __init__(self, *, repository: StatisticsRepository, sections: Sequence[StatisticsSection]) -> None:
        self._repo = repository
        self._sections = list(sections)

    def for_user(self, *, user: UserRecord) -> dict[str, Any]:
        """Section name → its numbers, plus when they were computed."""
        now = utc_now()
        inputs = self._repo.load(user_id=user.user_id)
        result: dict[str, Any] = {"generated_at": now}
        for section in self._sections:
            result[section.name] = section.compute(user=user, inputs=inputs, now=now)
        return result
