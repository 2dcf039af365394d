"""/cycle over HTTP against DynamoDB Local: logs, validation, ownership, predictions, today."""

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import in_threads

CYCLE = "/api/v1/cycle"


def ago(days: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=days)).isoformat()


def log(client: TestClient, user: dict[str, Any], **body: Any) -> Any:
    return client.post(f"{CYCLE}/periods", headers=user["headers"], json=body)


def regular_history(client: TestClient, user: dict[str, Any], *, cycles: int = 5, length: int = 28) -> None:
    """Periods every `length` days, the last one starting 10 days ago, each 5 days long."""
    for k in range(cycles, -1, -1):
        start = 10 + k * length
        response = log(client, user, start_date=ago(start), end_date=ago(start - 4), flow="medium")
        assert response.status_code == 201, response.text


def test_log_get_list_edit_delete_a_period(client: TestClient, user: dict[str, Any]) -> None:
    created = log(client, user, start_date=ago(3), flow="heavy", symptoms=["cramps", "acne", "cramps"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["end_date"] is None
    assert body["symptoms"] == ["cramps", "acne"]
    period_id = body["period_id"]
    assert client.get(f"{CYCLE}/periods/{period_id}", headers=user["headers"]).json() == body

    edited = client.patch(f"{CYCLE}/periods/{period_id}", headers=user["headers"], json={"end_date": ago(0)})
    assert edited.status_code == 200, edited.text
    assert edited.json()["end_date"] == ago(0)
    assert edited.json()["flow"] == "heavy"  # only what was sent changed
    assert edited.json()["symptoms"] == ["cramps", "acne"]

    moved = client.patch(f"{CYCLE}/periods/{period_id}", headers=user["headers"], json={"start_date": ago(4)})
    assert moved.status_code == 200, moved.text
    listed = client.get(f"{CYCLE}/periods", headers=user["headers"]).json()
    assert [p["start_date"] for p in listed["items"]] == [ago(4)]

    assert client.delete(f"{CYCLE}/periods/{period_id}", headers=user["headers"]).status_code == 204
    assert client.get(f"{CYCLE}/periods/{period_id}", headers=user["headers"]).status_code == 404
    assert client.get(f"{CYCLE}/periods", headers=user["headers"]).json()["items"] == []


def test_impossible_logs_are_422_naming_the_field(client: TestClient, user: dict[str, Any]) -> None:
    cases = [
        ({"start_date": ago(2), "end_date": ago(5)}, "end_date"),
        ({"start_date": ago(-1)}, "start_date"),
        ({"start_date": ago(30), "end_date": ago(14)}, "end_date"),  # 17 days
        ({"start_date": ago(3), "end_date": ago(-2)}, "end_date"),
    ]
    for body, field in cases:
        response = log(client, user, **body)
        assert response.status_code == 422, (body, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_period_log"
        assert error["details"]["field"] == field, body
    for body in ({"start_date": "not-a-date"}, {"start_date": ago(3), "flow": "torrential"}, {}):
        response = log(client, user, **body)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "validation_error"
    assert client.get(f"{CYCLE}/periods", headers=user["headers"]).json()["items"] == []


def test_overlapping_logs_are_422_and_an_edit_into_an_impossible_log_changes_nothing(
    client: TestClient, user: dict[str, Any]
) -> None:
    first = log(client, user, start_date=ago(40), end_date=ago(36)).json()
    second = log(client, user, start_date=ago(12), end_date=ago(8)).json()
    overlap = log(client, user, start_date=ago(38), end_date=ago(35))
    assert overlap.status_code == 422
    assert overlap.json()["error"]["details"]["field"] == "start_date"
    assert overlap.json()["error"]["details"]["overlaps_period_id"] == first["period_id"]
    covering = log(client, user, start_date=ago(42), end_date=ago(38))
    assert covering.status_code == 422
    assert covering.json()["error"]["details"]["field"] == "end_date"

    url = f"{CYCLE}/periods/{second['period_id']}"
    for change, field in (
        ({"start_date": ago(38), "end_date": ago(35)}, "start_date"),  # onto the first log
        ({"start_date": ago(30)}, "end_date"),  # 23 days long
        ({"end_date": ago(20)}, "end_date"),  # before its start
    ):
        refused = client.patch(url, headers=user["headers"], json=change)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["details"]["field"] == field
    assert client.get(url, headers=user["headers"]).json() == second


def test_concurrent_overlapping_logs_store_exactly_one(client: TestClient, user: dict[str, Any]) -> None:
    results = in_threads(4, lambda: log(client, user, start_date=ago(5), end_date=ago(2)).status_code)
    assert sorted(results) == [201, 422, 422, 422]
    assert len(client.get(f"{CYCLE}/periods", headers=user["headers"]).json()["items"]) == 1


def test_history_pages_newest_first(client: TestClient, user: dict[str, Any]) -> None:
    regular_history(client, user, cycles=4)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{CYCLE}/periods", headers=user["headers"], params=params).json()
        seen += [p["start_date"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == 5
    bad = client.get(f"{CYCLE}/periods", headers=user["headers"], params={"cursor": "garbage"})
    assert bad.status_code == 400


def test_another_users_log_is_404_and_unchanged(client: TestClient, register: Any) -> None:
    owner, intruder = register(), register()
    period = log(client, owner, start_date=ago(3)).json()
    url = f"{CYCLE}/periods/{period['period_id']}"
    assert client.get(url, headers=intruder["headers"]).status_code == 404
    assert client.patch(url, headers=intruder["headers"], json={"flow": "light"}).status_code == 404
    assert client.delete(url, headers=intruder["headers"]).status_code == 404
    assert client.get(url, headers=owner["headers"]).json() == period


def test_predictions_without_logs_are_empty_with_a_reason(client: TestClient, user: dict[str, Any]) -> None:
    response = client.get(f"{CYCLE}/predictions", headers=user["headers"])
    assert response.status_code == 200
    body = response.json()
    assert body["predictions"] == []
    assert body["reason"] == "no_periods_logged"
    assert body["insufficient_history"] is True
    today = client.get(f"{CYCLE}/today", headers=user["headers"]).json()
    assert today["tracking"] is False
    assert today["cycle_day"] is None


def test_predictions_from_a_regular_history(client: TestClient, user: dict[str, Any]) -> None:
    regular_history(client, user, cycles=5)
    body = client.get(f"{CYCLE}/predictions", headers=user["headers"]).json()
    assert body["insufficient_history"] is False
    assert body["reason"] is None
    assert body["cycle_length_days"] == 28.0
    assert len(body["predictions"]) == 3
    nxt = body["predictions"][0]
    assert nxt["start_date"] == ago(10 - 28)
    assert nxt["window_start"] <= nxt["start_date"] <= nxt["window_end"]
    ovulation = nxt["ovulation_estimate"]
    assert ovulation["is_estimate"] is True
    assert ovulation["date"] == ago(10 - 28 + 14)
    assert "not contraception" in body["disclaimer"]
    assert body["confidence"] in {"high", "medium"}
    today = client.get(f"{CYCLE}/today", headers=user["headers"]).json()
    assert today == {"date": ago(0), "tracking": True, "cycle_day": 11, "phase": "follicular", "reason": None}


def test_short_history_predicts_with_insufficient_history(client: TestClient, user: dict[str, Any]) -> None:
    regular_history(client, user, cycles=1)
    body = client.get(f"{CYCLE}/predictions", headers=user["headers"]).json()
    assert body["insufficient_history"] is True
    assert body["reason"] == "insufficient_history"
    assert body["confidence"] == "low"
    assert len(body["predictions"]) == 3
