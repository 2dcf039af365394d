"""GET /users/me/statistics against DynamoDB Local: the user's real numbers, from three key
reads (counted on a wrapped client), for a new user and for one with scans and a plan."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from app.plans.models import PlanSlot
from app.statistics.repository import StatisticsRepository
from app.statistics.sections import default_sections
from app.statistics.service import StatisticsService
from tests.factories import checkin, plan_record, scan_record

STATS = "/api/v1/users/me/statistics"


class CountingClient:
    """The real DynamoDB client, counting every call by operation."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def counted(**kwargs: Any) -> Any:
            self.calls[name] += 1
            return method(**kwargs)

        return counted


def seed(container: Any, user_id: str) -> Any:
    """Three completed scans (one failed between), a plan 10 days in with a 3-day streak."""
    now = datetime.now(UTC)
    scores = [
        {"acne": 40.0, "redness": 70.0, "hydration": 50.0, "pores": 60.0, "overall": 55.0},
        {"acne": 50.0, "redness": 68.0, "hydration": 52.0, "pores": 61.0, "overall": 58.0},
        {"acne": 62.0, "redness": 66.0, "hydration": 55.0, "pores": 45.0, "overall": 61.5},
    ]
    for days_ago, values in zip((30, 20, 5), scores, strict=True):
        scan = scan_record(
            user_id=user_id, status="completed", created=now - timedelta(days=days_ago), scores=values
        )
        container.scans_repo.create(scan=scan)
    container.scans_repo.create(
        scan=scan_record(user_id=user_id, status="failed", created=now - timedelta(days=1))
    )
    plan = plan_record(user_id=user_id, created=now - timedelta(days=9), lock_days=28)
    container.plans_repo.create(plan=plan, slot=PlanSlot(), previous=None, previous_status=None)
    for days_ago in (3, 2, 1):
        day = (now - timedelta(days=days_ago)).date().isoformat()
        plan = container.plans_repo.put_checkin(plan=plan, checkin=checkin(day), extra_warning=None)
    return plan


def test_a_new_user_has_empty_statistics(client: TestClient, user: dict) -> None:
    body = client.get(STATS, headers=user["headers"]).json()
    assert body["scans"]["scans_done"] == 0
    assert body["scans"]["latest_overall"] is None
    assert body["plan"] == {
        "has_active_plan": False,
        "plan_id": None,
        "am_percent": None,
        "pm_percent": None,
        "adherence_percent": None,
        "current_streak_days": 0,
        "days_until_unlock": None,
    }
    assert body["rescan"]["next_rescan_due_date"] is None


def test_the_numbers_come_from_the_users_scans_plan_and_preferences(
    client: TestClient, container: Any, user: dict
) -> None:
    user_id = user["user"]["user_id"]
    plan = seed(container, user_id)
    client.patch("/api/v1/users/me/preferences", headers=user["headers"], json={"rescan_interval_days": 14})
    body = client.get(STATS, headers=user["headers"]).json()

    scans = body["scans"]
    assert scans["scans_done"] == 3  # the failed scan does not count
    assert (scans["first_overall"], scans["latest_overall"], scans["overall_change"]) == (55.0, 61.5, 6.5)
    # Overall 55 → 61.5: below 80 two photos of one face differ by up to 10.9 (noise.LEVEL_BANDS).
    assert scans["overall_within_noise"] is True
    assert scans["best_improving_metric"] == {"metric": "acne", "change": 22.0}
    assert scans["worst_metric"] == {"metric": "pores", "score": 45.0}

    assert body["plan"]["has_active_plan"] is True
    assert body["plan"]["plan_id"] == plan.plan_id
    assert body["plan"]["current_streak_days"] == 3
    assert body["plan"]["am_percent"] == 30.0  # 3 of 10 days
    assert body["plan"]["days_until_unlock"] == 19

    rescan = body["rescan"]
    assert rescan["rescan_interval_days"] == 14
    due = (datetime.now(UTC) - timedelta(days=5)).date() + timedelta(days=14)
    assert rescan["next_rescan_due_date"] == due.isoformat()
    assert rescan["days_until_rescan"] == 9
    assert rescan["overdue"] is False


def test_statistics_take_three_dynamodb_calls_and_no_scan(
    container: Any, settings: Any, user_id: str
) -> None:
    seed(container, user_id)
    counting = CountingClient(container.dynamodb)
    names = settings.table_names
    service = StatisticsService(
        repository=StatisticsRepository(
            counting, scans_table=names["scans"], plans_table=names["plans"], records_table=names["records"]
        ),
        sections=default_sections(),
    )
    user = container.users.get(user_id=user_id)
    numbers = service.for_user(user=user)
    assert numbers["scans"].scans_done == 3
    assert counting.calls == Counter({"batch_get_item": 1, "query": 1, "get_item": 1})
    assert "scan" not in counting.calls


def test_self_rated_logs_are_a_section_of_their_own(client: TestClient, user: dict) -> None:
    """Skin logs of the last 30 days: averages, breakout days and reactions, never mixed with scans."""
    today = datetime.now(UTC).date()
    logs = [
        {"date": (today - timedelta(days=1)).isoformat(), "breakouts": "many", "dryness": 80, "oiliness": 20},
        {
            "date": (today - timedelta(days=2)).isoformat(),
            "breakouts": "few",
            "dryness": 60,
            "reaction": "mild",
        },
        {"date": (today - timedelta(days=3)).isoformat(), "breakouts": "none"},
        # Outside the 30-day window: not counted.
        {"date": (today - timedelta(days=45)).isoformat(), "breakouts": "many", "dryness": 0},
    ]
    for log in logs:
        created = client.post("/api/v1/skin-logs", headers=user["headers"], json=log)
        assert created.status_code == 201, created.text

    body = client.get(STATS, headers=user["headers"]).json()

    rated = body["self_rated"]
    assert rated["logs"] == 3
    assert rated["days_logged"] == 3
    assert rated["latest_log_date"] == logs[0]["date"]
    assert rated["averages"] == {"dryness": 70.0, "oiliness": 20.0}
    assert rated["breakout_days"] == {"none": 1, "few": 1, "many": 1}
    assert (rated["mild_reactions"], rated["severe_reactions"]) == (1, 0)
    assert body["scans"]["scans_done"] == 0  # ratings never count as scans


def test_a_user_without_skin_logs_has_an_empty_self_rated_section(client: TestClient, user: dict) -> None:
    rated = client.get(STATS, headers=user["headers"]).json()["self_rated"]
    assert rated["logs"] == 0
    assert rated["averages"] == {}
    assert rated["latest_log_date"] is None


def test_changes_within_photo_noise_are_not_called_an_improvement(
    client: TestClient, container: Any, user: dict
) -> None:
    now = datetime.now(UTC)
    for days_ago, values in (
        (14, {"acne": 90.0, "hydration": 80.0, "texture": 76.0, "overall": 86.0}),
        (1, {"acne": 91.5, "hydration": 82.0, "texture": 79.0, "overall": 86.8}),
    ):
        scan = scan_record(
            user_id=user["user"]["user_id"],
            status="completed",
            created=now - timedelta(days=days_ago),
            scores=values,
        )
        container.scans_repo.create(scan=scan)
    scans = client.get(STATS, headers=user["headers"]).json()["scans"]
    assert scans["overall_change"] == 0.8
    assert scans["overall_within_noise"] is True
    assert scans["best_improving_metric"] is None  # no real improvement yet
