"""GET /insights/cycle and the cycle-aware chat on seeded scans (DynamoDB Local, real HTTP).

Each user logs a regular 28-day history; completed scans are stored at known cycle days
with a known effect (acne 12 points lower in the luteal phase) or none.
"""

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi.testclient import TestClient

from app.db.dynamodb import to_item
from app.plans.models import PlanSlot
from tests.factories import plan_record, scan_record
from tests.helpers import send

INSIGHT = "/api/v1/insights/cycle"
CYCLES = 6
LENGTH = 28


def first_start() -> date:
    return datetime.now(UTC).date() - timedelta(days=LENGTH * CYCLES + 5)


def log_history(client: TestClient, user: dict[str, Any]) -> list[date]:
    """Seven periods 28 days apart, each 5 days long; the last started 5 days ago."""
    starts = [first_start() + timedelta(days=LENGTH * k) for k in range(CYCLES + 1)]
    for start in starts:
        body = {"start_date": start.isoformat(), "end_date": (start + timedelta(days=4)).isoformat()}
        assert client.post("/api/v1/cycle/periods", headers=user["headers"], json=body).status_code == 201
    return starts


def seed_scans(container: Any, user_id: str, *, luteal_effect: float, seed: int) -> int:
    """Completed scans on cycle days 3 (menstrual), 9 (follicular), 14 (ovulation), 23 (luteal)."""
    rng = random.Random(seed)
    table = container.settings.table_names["scans"]
    count = 0
    for k in range(CYCLES):
        for day in (3, 9, 14, 23):
            on = first_start() + timedelta(days=LENGTH * k + day - 1)
            effect = luteal_effect if day == 23 else 0.0
            scores = {
                "acne": round(62 + rng.gauss(0, 2.5) + effect, 1),
                "redness": round(55 + rng.gauss(0, 2.5), 1),
                "overall": round(58 + rng.gauss(0, 1.5), 1),
            }
            scan = scan_record(
                user_id=user_id,
                status="completed",
                created=datetime.combine(on, time(9), tzinfo=UTC),
                scores=scores,
            )
            container.dynamodb.put_item(TableName=table, Item=to_item(scan.model_dump(mode="json")))
            count += 1
    return count


def start_plan_weeks_ago(container: Any, user_id: str, weeks: int) -> None:
    """An active plan (acne-prone routine) that started `weeks` weeks ago."""
    plan = plan_record(user_id=user_id, created=datetime.now(UTC) - timedelta(weeks=weeks, hours=1))
    container.plans_repo.create(plan=plan, slot=PlanSlot(), previous=None, previous_status=None)


def acne_luteal(body: dict[str, Any]) -> dict[str, Any]:
    scan = next(s for s in body["sources"] if s["kind"] == "scan")
    acne = next(m for m in scan["metrics"] if m["metric"] == "acne")
    return next(p for p in acne["phases"] if p["phase"] == "luteal")


def test_a_known_luteal_effect_is_found_and_answered_in_chat(
    client: TestClient, container: Any, register: Any
) -> None:
    user = register()
    log_history(client, user)
    assert seed_scans(container, user["user"]["user_id"], luteal_effect=-12.0, seed=5) == 24
    assert client.get(INSIGHT, headers=user["headers"]).json()["routine_step"] is None  # no plan
    start_plan_weeks_ago(container, user["user"]["user_id"], weeks=2)  # week 3: actives ramped in
    body = client.get(INSIGHT, headers=user["headers"]).json()
    assert body["tracking"] is True
    luteal = acne_luteal(body)
    assert luteal["count"] == 6
    assert luteal["meaningful"] is True
    assert -11 < luteal["difference"] < -7
    assert any(f.startswith("acne score") and "luteal phase (6 scans)" in f for f in body["findings"])
    assert not any("redness" in f for f in body["findings"])
    step = body["routine_step"]
    assert step["ingredient"] == "salicylic_acid"
    assert step["days_before_period"] == 7

    answer = send(client, user, "do I break out before my period?")["assistant_message"]["content"]
    assert "luteal phase (6 scans)" in answer
    assert "acne score is" in answer
    assert "targeted step" in answer


def test_no_effect_makes_no_claim_anywhere(client: TestClient, container: Any, register: Any) -> None:
    user = register()
    log_history(client, user)
    seed_scans(container, user["user"]["user_id"], luteal_effect=0.0, seed=8)
    start_plan_weeks_ago(container, user["user"]["user_id"], weeks=2)
    body = client.get(INSIGHT, headers=user["headers"]).json()
    assert body["findings"] == []
    assert body["routine_step"] is None
    assert acne_luteal(body)["meaningful"] is False
    assert "No cycle phase differs" in body["summary"]
    answer = send(client, user, "do I break out before my period?")["assistant_message"]["content"]
    assert "can't see a real link" in answer


def test_users_who_do_not_track_get_a_reason_not_an_error(
    client: TestClient, container: Any, register: Any
) -> None:
    user = register()
    seed_scans(container, user["user"]["user_id"], luteal_effect=-12.0, seed=1)
    response = client.get(INSIGHT, headers=user["headers"])
    assert response.status_code == 200
    body = response.json()
    assert (body["tracking"], body["reason"], body["sources"], body["findings"]) == (
        False,
        "no_periods_logged",
        [],
        [],
    )
    answer = send(client, user, "do I break out before my period?")["assistant_message"]["content"]
    assert "cycle tracking" in answer
