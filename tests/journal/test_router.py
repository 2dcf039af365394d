"""/journal over HTTP against DynamoDB Local: CRUD, validation, ownership, paging, cycle fields."""

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

JOURNAL = "/api/v1/journal"


def ago(days: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=days)).isoformat()


def write(client: TestClient, user: dict[str, Any], **body: Any) -> Any:
    return client.post(JOURNAL, headers=user["headers"], json=body)


def test_create_get_patch_delete(client: TestClient, user: dict[str, Any]) -> None:
    created = write(
        client,
        user,
        date=ago(1),
        mood="anxious",
        energy=40,
        stress=80,
        sleep_hours=6.5,
        text="  Big deadline; chin breakout.  ",
        tags=["work", "breakout"],
    )
    assert created.status_code == 201, created.text
    entry = created.json()
    assert entry["text"] == "Big deadline; chin breakout."
    assert "cycle_day" in entry
    assert entry["cycle_day"] is None  # no period logs
    url = f"{JOURNAL}/{entry['entry_id']}"
    assert client.get(url, headers=user["headers"]).json() == entry

    patched = client.patch(url, headers=user["headers"], json={"mood": "calm", "text": None})
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["mood"] == "calm"
    assert body["text"] is None  # null clears
    assert (body["energy"], body["stress"], body["sleep_hours"], body["tags"]) == (
        40,
        80,
        6.5,
        ["work", "breakout"],
    )
    assert client.get(url, headers=user["headers"]).json() == body

    moved = client.patch(url, headers=user["headers"], json={"date": ago(3)})
    assert moved.json()["date"] == ago(3)
    assert moved.json()["mood"] == "calm"
    assert client.get(url, headers=user["headers"]).json()["date"] == ago(3)
    listed = client.get(JOURNAL, headers=user["headers"]).json()["items"]
    assert [e["entry_id"] for e in listed] == [entry["entry_id"]]  # moved, not copied

    assert client.delete(url, headers=user["headers"]).status_code == 204
    assert client.get(url, headers=user["headers"]).status_code == 404
    assert client.delete(url, headers=user["headers"]).status_code == 404


def test_validation_is_422_with_the_field(client: TestClient, user: dict[str, Any]) -> None:
    bad = [
        {"date": ago(0), "energy": 101},
        {"date": ago(0), "stress": -1},
        {"date": ago(0), "sleep_hours": 25},
        {"date": ago(0), "mood": "ecstatic"},
        {"date": ago(0), "text": "x" * 4001},
        {"date": ago(0), "tags": [f"t{i}" for i in range(13)]},
        {"date": ago(0), "tags": ["x" * 33]},
        {"date": ago(0), "colour": "blue"},
        {"mood": "good"},
    ]
    for body in bad:
        response = write(client, user, **body)
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "validation_error"
        assert response.json()["error"]["details"], body
    future = write(client, user, date=ago(-2))
    assert future.status_code == 422
    assert future.json()["error"]["details"]["field"] == "date"
    assert client.get(JOURNAL, headers=user["headers"]).json()["items"] == []
    entry = write(client, user, date=ago(0)).json()
    refused = client.patch(f"{JOURNAL}/{entry['entry_id']}", headers=user["headers"], json={"date": None})
    assert refused.status_code == 422
    assert client.get(f"{JOURNAL}/{entry['entry_id']}", headers=user["headers"]).json() == entry


def test_mood_is_an_enum_in_the_openapi_document(client: TestClient) -> None:
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert set(schemas["Mood"]["enum"]) >= {"great", "good", "okay", "low", "anxious", "stressed"}


def test_another_users_entry_is_404_and_unchanged(client: TestClient, register: Any) -> None:
    owner, intruder = register(), register()
    entry = write(client, owner, date=ago(0), mood="good").json()
    url = f"{JOURNAL}/{entry['entry_id']}"
    assert client.get(url, headers=intruder["headers"]).status_code == 404
    assert client.patch(url, headers=intruder["headers"], json={"mood": "sad"}).status_code == 404
    assert client.delete(url, headers=intruder["headers"]).status_code == 404
    assert client.get(JOURNAL, headers=intruder["headers"]).json()["items"] == []
    assert client.get(url, headers=owner["headers"]).json() == entry


def test_list_pages_newest_first_within_a_date_range(client: TestClient, user: dict[str, Any]) -> None:
    for days in range(7):
        assert write(client, user, date=ago(days), energy=days).status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(JOURNAL, headers=user["headers"], params=params).json()
        assert len(page["items"]) <= 3
        seen += [e["date"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [ago(d) for d in range(7)]
    ranged = client.get(JOURNAL, headers=user["headers"], params={"from": ago(4), "to": ago(2)}).json()
    assert [e["date"] for e in ranged["items"]] == [ago(2), ago(3), ago(4)]
    reversed_range = client.get(JOURNAL, headers=user["headers"], params={"from": ago(1), "to": ago(4)})
    assert reversed_range.status_code == 422
    assert reversed_range.json()["error"]["code"] == "invalid_date_range"


def test_cycle_day_and_phase_are_filled_in_from_the_period_logs(
    client: TestClient, user: dict[str, Any]
) -> None:
    entry = write(client, user, date=ago(2), mood="low").json()
    assert entry["cycle_day"] is None
    # Logging the period afterwards fills in the entries it covers.
    period = client.post(
        "/api/v1/cycle/periods", headers=user["headers"], json={"start_date": ago(3), "end_date": ago(0)}
    )
    assert period.status_code == 201
    again = client.get(f"{JOURNAL}/{entry['entry_id']}", headers=user["headers"]).json()
    assert (again["cycle_day"], again["cycle_phase"]) == (2, "menstrual")
    earlier = write(client, user, date=ago(10)).json()
    assert earlier["cycle_day"] is None  # before the first log
