"""The chat context reads the scan and plan the user item points at: still right when they change."""

from typing import Any

from fastapi.testclient import TestClient

from app.db.guards import NO_POINTER, SCAN_POINTER
from tests.helpers import DynamoDBCalls, upload_scan, wait_for
from tests.images import face_jpeg

API = "/api/v1"


def _ask(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.post(f"{API}/chat/messages", headers=headers, json={"content": "What helps acne?"})
    assert response.status_code == 201, response.text
    refs: dict[str, Any] = response.json()["assistant_message"]["context_refs"]
    return refs


def _user_item(container: Any, user_id: str) -> dict[str, Any]:
    item = container.dynamodb.get_item(
        TableName=container.settings.table_names["users"],
        Key={"user_id": {"S": user_id}},
        ConsistentRead=True,
    )["Item"]
    return dict(item)


def test_a_deleted_latest_scan_is_never_the_context_and_the_pointer_is_repaired(
    client: TestClient, container: Any, user: dict[str, Any]
) -> None:
    headers = user["headers"]
    first = upload_scan(client, headers, face_jpeg())
    assert wait_for(client, headers, first["scan_id"])["status"] == "completed"
    second = upload_scan(client, headers, face_jpeg())
    assert wait_for(client, headers, second["scan_id"])["status"] == "completed"
    assert _ask(client, headers) == {"scan_id": second["scan_id"]}

    assert client.delete(f"{API}/scans/{second['scan_id']}", headers=headers).status_code == 204
    assert _ask(client, headers) == {"scan_id": first["scan_id"]}, "falls back to the previous scan"
    assert _user_item(container, user["user"]["user_id"])[SCAN_POINTER] == {"S": first["scan_id"]}

    assert client.delete(f"{API}/scans/{first['scan_id']}", headers=headers).status_code == 204
    assert _ask(client, headers) == {}
    with DynamoDBCalls(container.dynamodb, requests_only=True) as counted:
        assert _ask(client, headers) == {}
    # Repaired to "none": no scan read at all any more.
    assert counted.names == ["GetItem", "UpdateItem", "TransactWriteItems"]


def test_a_plan_that_ended_leaves_the_context_and_a_new_one_enters_it(
    client: TestClient, user: dict[str, Any]
) -> None:
    headers = user["headers"]
    scan = upload_scan(client, headers, face_jpeg())
    assert wait_for(client, headers, scan["scan_id"])["status"] == "completed"
    plan = client.post(f"{API}/plans", headers=headers, json={}).json()
    assert _ask(client, headers) == {"scan_id": scan["scan_id"], "plan_id": plan["plan_id"]}

    assert (
        client.patch(f"{API}/plans/{plan['plan_id']}", headers=headers, json={"status": "paused"}).status_code
        == 200
    )
    assert _ask(client, headers)["plan_id"] == plan["plan_id"], "a paused plan is still the current one"
    ended = client.patch(f"{API}/plans/{plan['plan_id']}", headers=headers, json={"status": "abandoned"})
    assert ended.status_code == 200
    assert _ask(client, headers) == {"scan_id": scan["scan_id"]}

    # Still inside the lock period: a replacement needs the adverse-reaction reason.
    replacement = client.post(f"{API}/plans", headers=headers, json={"override_reason": "adverse_reaction"})
    assert replacement.status_code == 201, replacement.text
    assert _ask(client, headers)["plan_id"] == replacement.json()["plan_id"]


def test_a_scan_finishing_after_a_newer_one_does_not_move_the_pointer_back(
    client: TestClient, container: Any, user: dict[str, Any]
) -> None:
    user_id = user["user"]["user_id"]
    # As if a scan created later had completed first (scans can finish out of order): the
    # largest id there can be, so it is newer than the scan below.
    newer = "7" + "Z" * 25
    container.users.fill_pointer(user_id=user_id, pointer=SCAN_POINTER, value=newer, seen=NO_POINTER)
    headers = user["headers"]
    scan = upload_scan(client, headers, face_jpeg())
    assert wait_for(client, headers, scan["scan_id"])["status"] == "completed", (
        "the scan itself still completes"
    )
    assert _user_item(container, user_id)[SCAN_POINTER] == {"S": newer}
