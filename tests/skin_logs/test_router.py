"""Skin logs over HTTP against DynamoDB Local: CRUD, validation, ownership, plan reactions, export."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers import send, today, upload_scan, wait_for
from tests.images import face_jpeg

LOGS = "/api/v1/skin-logs"


def day(offset: int) -> str:
    """A date `offset` days from today (negative = past), ISO."""
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


def log(client: TestClient, user: dict, **fields: Any) -> dict[str, Any]:
    body = {"date": today(), "breakouts": "few", "dryness": 40, **fields}
    response = client.post(LOGS, headers=user["headers"], json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def planned_user(client: TestClient, register) -> dict[str, Any]:
    """A user with a completed scan and an active plan."""
    user = register(skin_type="oily", primary_concern="acne")
    scan = wait_for(client, user["headers"], upload_scan(client, user["headers"], face_jpeg())["scan_id"])
    assert scan["status"] == "completed"
    plan = client.post("/api/v1/plans", headers=user["headers"], json={})
    assert plan.status_code == 201, plan.text
    user["scan"], user["plan"] = scan, plan.json()
    return user


def test_create_read_update_delete(client: TestClient, user: dict) -> None:
    created = log(client, user, oiliness=70, sensitivity=10, radiance=55, notes="  tight after the gym ")
    assert created["date"] == today()
    assert created["breakouts"] == "few"
    assert (created["dryness"], created["oiliness"], created["sensitivity"], created["radiance"]) == (
        40,
        70,
        10,
        55,
    )
    assert created["reaction"] == "none"
    assert created["notes"] == "tight after the gym"
    # Nobody here tracks cycles: no cycle fields are invented.
    assert created["cycle_day"] is None
    assert created["cycle_phase"] is None
    log_id = created["log_id"]

    fetched = client.get(f"{LOGS}/{log_id}", headers=user["headers"])
    assert fetched.status_code == 200
    assert fetched.json() == {k: v for k, v in created.items() if k not in {"advice", "plan_id"}}

    patched = client.patch(f"{LOGS}/{log_id}", headers=user["headers"], json={"dryness": 80, "notes": None})
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["dryness"] == 80
    assert body["notes"] is None
    # Only what was sent changed.
    assert (body["breakouts"], body["oiliness"], body["sensitivity"], body["radiance"]) == ("few", 70, 10, 55)
    assert body["updated_at"] > created["updated_at"]
    assert client.get(f"{LOGS}/{log_id}", headers=user["headers"]).json()["dryness"] == 80

    assert client.delete(f"{LOGS}/{log_id}", headers=user["headers"]).status_code == 204
    gone = client.get(f"{LOGS}/{log_id}", headers=user["headers"])
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "skin_log_not_found"
    assert client.get(LOGS, headers=user["headers"]).json()["items"] == []


def test_list_by_date_range_newest_first_with_cursor(client: TestClient, user: dict) -> None:
    dates = [day(-offset) for offset in range(6)]  # today .. five days ago
    for on in reversed(dates):
        log(client, user, date=on)
    extra = log(client, user, date=dates[2], breakouts="many")  # two logs on one day

    everything = client.get(LOGS, headers=user["headers"]).json()["items"]
    assert [item["date"] for item in everything] == [
        dates[0],
        dates[1],
        dates[2],
        dates[2],
        dates[3],
        dates[4],
        dates[5],
    ]

    ranged = client.get(LOGS, headers=user["headers"], params={"from": dates[4], "to": dates[1]}).json()
    assert [item["date"] for item in ranged["items"]] == [dates[1], dates[2], dates[2], dates[3], dates[4]]
    assert extra["log_id"] in {item["log_id"] for item in ranged["items"]}

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(LOGS, headers=user["headers"], params=params).json()
        seen += [item["log_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [item["log_id"] for item in everything]

    backwards = client.get(LOGS, headers=user["headers"], params={"from": dates[1], "to": dates[4]})
    assert backwards.status_code == 400
    assert backwards.json()["error"]["code"] == "invalid_date_range"
    tampered = client.get(LOGS, headers=user["headers"], params={"cursor": "bm90LWEtY3Vyc29y"})
    assert tampered.status_code == 400
    assert tampered.json()["error"]["code"] == "invalid_cursor"


def test_changing_the_date_moves_the_log(client: TestClient, user: dict) -> None:
    created = log(client, user, date=day(-3), oiliness=20)
    moved = client.patch(f"{LOGS}/{created['log_id']}", headers=user["headers"], json={"date": day(-1)})
    assert moved.status_code == 200, moved.text
    assert moved.json()["date"] == day(-1)
    assert moved.json()["oiliness"] == 20
    assert client.get(f"{LOGS}/{created['log_id']}", headers=user["headers"]).json()["date"] == day(-1)
    old_day = client.get(LOGS, headers=user["headers"], params={"from": day(-3), "to": day(-3)}).json()
    assert old_day["items"] == []
    new_day = client.get(LOGS, headers=user["headers"], params={"from": day(-1), "to": day(-1)}).json()
    assert [item["log_id"] for item in new_day["items"]] == [created["log_id"]]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"date": "2026-13-01", "breakouts": "few"}, "date"),
        ({"breakouts": "few"}, "date"),
        ({"date": "2025-01-01", "dryness": 101}, "dryness"),
        ({"date": "2025-01-01", "dryness": -1}, "dryness"),
        ({"date": "2025-01-01", "dryness": 50.5}, "dryness"),
        ({"date": "2025-01-01", "breakouts": "loads"}, "breakouts"),
        ({"date": "2025-01-01", "breakouts": "few", "reaction": "moderate"}, "reaction"),
        ({"date": "2025-01-01", "breakouts": "few", "notes": "x" * 1001}, "notes"),
        ({"date": "2025-01-01", "breakouts": "few", "scan_id": "not-a-ulid"}, "scan_id"),
        ({"date": "2025-01-01", "breakouts": "few", "cycle_day": 3}, "cycle_day"),
    ],
)
def test_invalid_input_is_a_422_envelope(client: TestClient, user: dict, body: dict, where: str) -> None:
    response = client.post(LOGS, headers=user["headers"], json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert where in response.text


def test_rules_the_schema_cannot_express(client: TestClient, user: dict) -> None:
    nothing_rated = client.post(LOGS, headers=user["headers"], json={"date": today(), "notes": "hm"})
    assert nothing_rated.status_code == 422
    future = client.post(LOGS, headers=user["headers"], json={"date": day(2), "dryness": 10})
    assert future.status_code == 422
    assert future.json()["error"]["code"] == "log_date_out_of_range"
    created = log(client, user, dryness=None, breakouts="none")
    cleared = client.patch(f"{LOGS}/{created['log_id']}", headers=user["headers"], json={"breakouts": None})
    assert cleared.status_code == 422
    assert cleared.json()["error"]["code"] == "log_needs_a_rating"
    null_date = client.patch(f"{LOGS}/{created['log_id']}", headers=user["headers"], json={"date": None})
    assert null_date.status_code == 422
    assert client.get(f"{LOGS}/{created['log_id']}", headers=user["headers"]).json()["breakouts"] == "none"


def test_another_users_log_is_404_and_untouched(client: TestClient, user: dict, register) -> None:
    mine = log(client, user)
    intruder = register()
    url = f"{LOGS}/{mine['log_id']}"
    assert client.get(url, headers=intruder["headers"]).status_code == 404
    assert client.patch(url, headers=intruder["headers"], json={"dryness": 99}).status_code == 404
    assert client.delete(url, headers=intruder["headers"]).status_code == 404
    assert client.get(LOGS, headers=intruder["headers"]).json()["items"] == []
    assert client.get(url, headers=user["headers"]).json()["dryness"] == 40


def test_scan_id_must_be_the_users_own_scan_of_that_day(
    client: TestClient, planned_user: dict, register
) -> None:
    scan_id = planned_user["scan"]["scan_id"]
    scan_day = planned_user["scan"]["scan_date"][:10]
    with_scan = log(client, planned_user, date=scan_day, scan_id=scan_id)
    assert with_scan["scan_id"] == scan_id

    other = register()
    theirs = client.post(
        LOGS, headers=other["headers"], json={"date": scan_day, "dryness": 5, "scan_id": scan_id}
    )
    assert theirs.status_code == 404
    assert theirs.json()["error"]["code"] == "scan_not_found"

    wrong_day = client.post(
        LOGS, headers=planned_user["headers"], json={"date": day(-10), "dryness": 5, "scan_id": scan_id}
    )
    assert wrong_day.status_code == 422
    assert wrong_day.json()["error"]["code"] == "scan_not_same_day"
    # Moving a linked log away from its scan's day is refused the same way.
    moved = client.patch(
        f"{LOGS}/{with_scan['log_id']}", headers=planned_user["headers"], json={"date": day(-10)}
    )
    assert moved.status_code == 422
    assert moved.json()["error"]["code"] == "scan_not_same_day"


def test_severe_reaction_applies_the_check_in_rule_to_the_active_plan(
    client: TestClient, planned_user: dict
) -> None:
    headers = planned_user["headers"]
    plan_id = planned_user["plan"]["plan_id"]
    mild = log(client, planned_user, reaction="mild")
    assert mild["plan_id"] == plan_id
    assert mild["advice"] is None
    assert (
        client.get(f"/api/v1/plans/{plan_id}", headers=headers).json()["warnings"]
        == planned_user["plan"]["warnings"]
    )

    severe = log(client, planned_user, reaction="severe")
    assert severe["plan_id"] == plan_id
    assert "see a dermatologist" in severe["advice"]
    # The same advice a severe check-in gives, added once to the plan's warnings.
    checkin = client.post(
        f"/api/v1/plans/{plan_id}/checkins",
        headers=headers,
        json={"date": today(), "am_done": True, "pm_done": True, "reaction": {"severity": "severe"}},
    ).json()
    assert checkin["advice"] == severe["advice"]
    warnings = client.get(f"/api/v1/plans/{plan_id}", headers=headers).json()["warnings"]
    assert warnings.count(severe["advice"]) == 1
    # Re-logging the reaction does not repeat the warning.
    client.patch(f"{LOGS}/{mild['log_id']}", headers=headers, json={"reaction": "severe"})
    assert (
        client.get(f"/api/v1/plans/{plan_id}", headers=headers).json()["warnings"].count(severe["advice"])
        == 1
    )


def test_reaction_before_the_plan_started_does_not_touch_it(client: TestClient, planned_user: dict) -> None:
    before = log(client, planned_user, date=day(-5), reaction="severe")
    assert before["plan_id"] is None
    assert before["advice"] is None
    plan = client.get(
        f"/api/v1/plans/{planned_user['plan']['plan_id']}", headers=planned_user["headers"]
    ).json()
    assert plan["warnings"] == planned_user["plan"]["warnings"]


def test_no_plan_no_advice(client: TestClient, user: dict) -> None:
    severe = log(client, user, reaction="severe")
    assert severe["plan_id"] is None
    assert severe["advice"] is None


def test_export_includes_the_logs(client: TestClient, user: dict) -> None:
    first = log(client, user, date=day(-1), notes="first")
    second = log(client, user, breakouts="none")
    exported = client.get("/api/v1/auth/me/export", headers=user["headers"])
    assert exported.status_code == 200, exported.text
    logs = exported.json()["skin_logs"]
    assert [item["log_id"] for item in logs] == [first["log_id"], second["log_id"]]
    assert logs[0]["notes"] == "first"
    assert logs[0]["date"] == day(-1)
    assert "user_id" not in logs[0]


def test_the_local_assistant_answers_from_the_logs(client: TestClient, user: dict) -> None:
    log(client, user, date=day(-1), breakouts="many", dryness=20, oiliness=80)
    log(client, user, breakouts="few", dryness=40, oiliness=60, reaction="mild")
    turn = send(client, user, "What do my skin logs say?")
    answer = turn["assistant_message"]["content"]
    assert f"Your latest skin log ({today()})" in answer
    assert "breakouts few" in answer
    assert "dryness 30/100" in answer  # the mean of 20 and 40
    assert "oiliness 70/100" in answer
    assert f"{today()} (mild)" in answer
    assert "not scan scores" in answer
