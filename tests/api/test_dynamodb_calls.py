"""DynamoDB calls per request, counted on the app's own client (issue 15's targets).

Every call costs a round trip and request units on DynamoDB's per-request pricing, so each
endpoint's count is guarded here. `bench/ddb_cost.py` prints the same counts with capacity.
"""

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD
from tests.helpers import DynamoDBCalls, upload_scan, wait_for
from tests.images import face_jpeg

API = "/api/v1"


@pytest.fixture(scope="module")
def planned(client: TestClient) -> dict[str, Any]:
    """A user with a completed scan and an active plan."""
    from tests.conftest import unique_email

    email = unique_email()
    body = client.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {body['tokens']['access_token']}"}
    scan = upload_scan(client, headers, face_jpeg())
    assert wait_for(client, headers, scan["scan_id"])["status"] == "completed"
    assert client.post(f"{API}/plans", headers=headers, json={}).status_code == 201
    return {"email": email, "headers": headers}


def _count(container: Any, call: Any) -> tuple[Any, list[str]]:
    with DynamoDBCalls(container.dynamodb, requests_only=True) as counted:
        response = call()
    return response, counted.names


def test_sign_in_takes_three_calls(client: TestClient, container: Any, planned: dict) -> None:
    response, calls = _count(
        container,
        lambda: client.post(f"{API}/auth/login", json={"email": planned["email"], "password": PASSWORD}),
    )
    assert response.status_code == 200
    # Counters admitted together, the account from the email index, session + bookkeeping together.
    assert calls == ["TransactWriteItems", "Query", "TransactWriteItems"]


def test_a_wrong_password_still_counts_and_is_refused(
    client: TestClient, container: Any, planned: dict
) -> None:
    response, calls = _count(
        container,
        lambda: client.post(
            f"{API}/auth/login", json={"email": planned["email"], "password": "not it at all"}
        ),
    )
    assert response.status_code == 401
    assert calls[0] == "TransactWriteItems", "the attempt is counted before the password is checked"
    # The index copy is re-read once before a mismatch counts, then the counters are read.
    assert len(calls) <= 5


def test_active_plan_takes_two_calls(client: TestClient, container: Any, planned: dict) -> None:
    response, calls = _count(container, lambda: client.get(f"{API}/plans/active", headers=planned["headers"]))
    assert response.status_code == 200
    assert calls == ["GetItem", "Query"]  # the user, then the newest plan


@pytest.mark.parametrize(
    ("path", "most"),
    [("/auth/me", 1), ("/scans?limit=20", 2), ("/progress", 2), ("/plans", 2)],
)
def test_read_endpoints_stay_at_one_query_past_the_user(
    client: TestClient, container: Any, planned: dict, path: str, most: int
) -> None:
    response, calls = _count(container, lambda: client.get(f"{API}{path}", headers=planned["headers"]))
    assert response.status_code == 200
    assert len(calls) <= most, calls


# The user (auth), the rate limit (before the paid answer), the scan and plan the user item
# points at (one BatchGetItem), the turn's transaction.
CHAT_NEW_SESSION = ["GetItem", "UpdateItem", "BatchGetItem", "TransactWriteItems"]


def _chat(client: TestClient, container: Any, headers: dict, **body: Any) -> tuple[Any, list[str]]:
    response, calls = _count(
        container, lambda: client.post(f"{API}/chat/messages", headers=headers, json=body)
    )
    assert response.status_code == 201, response.text
    return response.json(), calls


def test_a_chat_message_in_a_new_session_takes_four_calls(
    client: TestClient, container: Any, planned: dict
) -> None:
    turn, calls = _chat(client, container, planned["headers"], content="Is SPF enough?")
    assert calls == CHAT_NEW_SESSION
    # The answer was still given about the user's scan and plan.
    assert set(turn["assistant_message"]["context_refs"]) == {"scan_id", "plan_id"}


def test_a_chat_message_in_an_existing_session_adds_the_session_and_its_history(
    client: TestClient, container: Any, planned: dict
) -> None:
    first, _ = _chat(client, container, planned["headers"], content="What helps acne?")
    _, calls = _chat(
        client, container, planned["headers"], content="And at night?", session_id=first["session_id"]
    )
    # No summary read: the history query proves the session (the turn's transaction re-checks it).
    assert calls == ["GetItem", "UpdateItem", "Query", "BatchGetItem", "TransactWriteItems"]


def test_a_user_without_scan_or_plan_skips_the_read(client: TestClient, container: Any, user: dict) -> None:
    turn, calls = _chat(client, container, user["headers"], content="What helps acne?")
    assert calls == ["GetItem", "UpdateItem", "TransactWriteItems"]
    assert turn["assistant_message"]["context_refs"] == {}


def test_a_user_who_tracks_cycles_and_skin_logs_pays_for_those_sections(
    client: TestClient, container: Any, user: dict
) -> None:
    today = date.today()
    period = {
        "start_date": (today - timedelta(days=10)).isoformat(),
        "end_date": (today - timedelta(days=6)).isoformat(),
    }
    assert client.post(f"{API}/cycle/periods", headers=user["headers"], json=period).status_code == 201
    skin_log = {"date": today.isoformat(), "breakouts": "few"}
    assert client.post(f"{API}/skin-logs", headers=user["headers"], json=skin_log).status_code == 201
    _, calls = _chat(client, container, user["headers"], content="Does my cycle matter?")
    # No scan or plan to read (the pointers say none); the recent skin logs; the periods, then
    # the insight's two series (scan scores, every skin log) averaged by phase.
    assert calls == ["GetItem", "UpdateItem", "Query", "Query", "Query", "Query", "TransactWriteItems"]


def test_an_account_from_before_the_markers_is_looked_at_once(
    client: TestClient, container: Any, planned: dict
) -> None:
    user_id = client.get(f"{API}/auth/me", headers=planned["headers"]).json()["user_id"]
    # What an account made before the markers looks like: none of the four attributes.
    container.dynamodb.update_item(
        TableName=container.settings.table_names["users"],
        Key={"user_id": {"S": user_id}},
        UpdateExpression="REMOVE tracking, latest_scan_id, current_plan_id",
    )
    first, calls = _chat(client, container, planned["headers"], content="What helps acne?")
    assert set(first["assistant_message"]["context_refs"]) == {"scan_id", "plan_id"}
    assert calls.count("Query") >= 4, calls  # scan, plan, skin logs, periods: looked at ...
    assert calls.count("UpdateItem") == 4, calls  # ... and the rate limit, two pointers, the marker
    again, calls = _chat(client, container, planned["headers"], content="What helps acne?")
    assert calls == CHAT_NEW_SESSION
    assert again["assistant_message"]["context_refs"] == first["assistant_message"]["context_refs"]
