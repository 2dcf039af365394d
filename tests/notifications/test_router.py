"""/notifications over HTTP against DynamoDB Local: made by real events, the feed, read state,
delete, devices, TTL, preferences deciding what is made, and ownership (another user's → 404)."""

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.db.dynamodb import from_item
from app.db.keys import notification_key
from tests.helpers import today, upload_scan, wait_for
from tests.images import face_jpeg, no_face_jpeg

NOTIFICATIONS = "/api/v1/notifications"
PREFS = "/api/v1/users/me/preferences"


def make_many(container: Any, user_id: str, count: int) -> list[str]:
    """Feed items made through the service (as an event would), oldest first."""
    ids = []
    for index in range(count):
        made = container.notifications.make(
            user_id=user_id, kind="scan_completed", title=f"n{index}", body="b", dedupe_key=f"t#{index}"
        )
        ids.append(made.notification_id)
    return ids


def feed_page(client: TestClient, user: dict, **params: Any) -> dict[str, Any]:
    response = client.get(NOTIFICATIONS, headers=user["headers"], params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_for_feed(client: TestClient, user: dict, count: int) -> list[dict[str, Any]]:
    # The scan's notification is made by the worker thread right after it records the result.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        items: list[dict[str, Any]] = feed_page(client, user)["items"]
        if len(items) >= count:
            return items
        time.sleep(0.05)
    raise AssertionError("no notification arrived")


def test_a_finished_scan_makes_a_notification_with_ttl(
    client: TestClient, container: Any, user: dict
) -> None:
    scan = wait_for(client, user["headers"], upload_scan(client, user["headers"], face_jpeg())["scan_id"])
    assert scan["status"] == "completed"
    [item] = wait_for_feed(client, user, 1)
    assert item["kind"] == "scan_completed"
    assert item["data"]["scan_id"] == scan["scan_id"]
    assert f"{round(scan['scores']['overall'])}" in item["body"]
    assert item["read"] is False
    stored = container.dynamodb.get_item(
        TableName=container.settings.dynamodb_records_table,
        Key=notification_key(user["user"]["user_id"], item["notification_id"]),
    )["Item"]
    ttl = from_item(stored)["expires_at_epoch"]
    assert abs(ttl - (time.time() + container.settings.notification_ttl_days * 86400)) < 120


def test_a_failed_scan_says_why(client: TestClient, user: dict) -> None:
    scan = wait_for(client, user["headers"], upload_scan(client, user["headers"], no_face_jpeg())["scan_id"])
    assert scan["status"] == "failed"
    [item] = wait_for_feed(client, user, 1)
    assert item["kind"] == "scan_failed"
    assert item["data"]["scan_id"] == scan["scan_id"]
    assert item["body"] == scan["failure"]["message"]


def test_a_severe_reaction_makes_a_referral_notification_even_with_the_feed_off(
    client: TestClient, user: dict
) -> None:
    headers = user["headers"]
    assert client.patch(PREFS, headers=headers, json={"notifications": {"in_app": False}}).status_code == 200
    wait_for(client, headers, upload_scan(client, headers, face_jpeg())["scan_id"])
    plan = client.post("/api/v1/plans", headers=headers, json={}).json()
    checkin = {
        "date": today(),
        "am_done": True,
        "pm_done": False,
        "reaction": {"severity": "severe", "description": "burning and swelling"},
    }
    for _ in range(2):  # logged twice: still one notification
        assert client.post(
            f"/api/v1/plans/{plan['plan_id']}/checkins", headers=headers, json=checkin
        ).status_code in (200, 201)
    items = feed_page(client, user)["items"]
    assert [i["kind"] for i in items] == ["severe_reaction"]  # the scan's was not kept: feed off
    assert items[0]["data"]["referral_url"] == "/api/v1/consultations/dermatologists"
    assert items[0]["data"]["plan_id"] == plan["plan_id"]


def test_switched_off_kinds_are_not_made(client: TestClient, container: Any, user: dict) -> None:
    client.patch(PREFS, headers=user["headers"], json={"notifications": {"scan_updates": False}})
    wait_for(client, user["headers"], upload_scan(client, user["headers"], face_jpeg())["scan_id"])
    deadline = time.monotonic() + 10
    while container.analysis_worker._in_flight and time.monotonic() < deadline:
        time.sleep(0.05)  # the worker has finished its job, notification hook included
    assert feed_page(client, user)["items"] == []


def test_mark_read_unread_only_and_read_all_past_one_page(
    client: TestClient, container: Any, user: dict
) -> None:
    ids = make_many(container, user["user"]["user_id"], 25)
    first = feed_page(client, user, limit=10)
    assert [i["notification_id"] for i in first["items"]] == ids[::-1][:10]  # newest first
    second = feed_page(client, user, limit=10, cursor=first["next_cursor"])
    assert [i["notification_id"] for i in second["items"]] == ids[::-1][10:20]

    read = client.post(f"{NOTIFICATIONS}/{ids[-1]}/read", headers=user["headers"])
    assert read.status_code == 200
    assert read.json()["read"] is True
    assert read.json()["read_at"]
    unread = feed_page(client, user, unread_only="true", limit=100)["items"]
    assert ids[-1] not in {i["notification_id"] for i in unread}
    assert len(unread) == 24

    result = client.post(f"{NOTIFICATIONS}/read-all", headers=user["headers"])
    assert result.status_code == 200
    assert result.json()["read_through"] == ids[-1]
    assert feed_page(client, user, unread_only="true")["items"] == []
    everything = [*feed_page(client, user, limit=100)["items"]]
    assert len(everything) == 25
    assert all(i["read"] for i in everything)
    # A notification made afterwards is unread again.
    newer = container.notifications.make(
        user_id=user["user"]["user_id"], kind="rescan_due", title="t", body="b"
    )
    assert [i["notification_id"] for i in feed_page(client, user, unread_only="true")["items"]] == [
        newer.notification_id
    ]


def test_delete_removes_one_notification(client: TestClient, container: Any, user: dict) -> None:
    keep, gone = make_many(container, user["user"]["user_id"], 2)
    assert client.delete(f"{NOTIFICATIONS}/{gone}", headers=user["headers"]).status_code == 204
    assert [i["notification_id"] for i in feed_page(client, user)["items"]] == [keep]
    again = client.delete(f"{NOTIFICATIONS}/{gone}", headers=user["headers"])
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "notification_not_found"


def test_devices_register_list_and_remove(client: TestClient, container: Any, user: dict) -> None:
    token = "a" * 64
    created = client.post(
        f"{NOTIFICATIONS}/devices", headers=user["headers"], json={"platform": "ios", "token": token}
    )
    assert created.status_code == 201, created.text
    device = created.json()
    assert "token" not in device
    again = client.post(
        f"{NOTIFICATIONS}/devices",
        headers=user["headers"],
        json={"platform": "ios", "token": token, "name": "phone"},
    )
    assert again.json()["device_id"] == device["device_id"]  # same token, same device
    listed = client.get(f"{NOTIFICATIONS}/devices", headers=user["headers"]).json()["items"]
    assert [(d["device_id"], d["name"]) for d in listed] == [(device["device_id"], "phone")]

    container.notifications.make(
        user_id=user["user"]["user_id"], kind="rescan_due", title="Scan again", body="b"
    )
    assert container.push.sent[-1]["token"] == token
    assert container.push.sent[-1]["title"] == "Scan again"

    path = f"{NOTIFICATIONS}/devices/{device['device_id']}"
    assert client.delete(path, headers=user["headers"]).status_code == 204
    assert client.get(f"{NOTIFICATIONS}/devices", headers=user["headers"]).json()["items"] == []
    assert client.delete(path, headers=user["headers"]).json()["error"]["code"] == "device_not_found"


def test_push_only_sends_without_a_feed_item(client: TestClient, container: Any, user: dict) -> None:
    client.post(
        f"{NOTIFICATIONS}/devices", headers=user["headers"], json={"platform": "android", "token": "b" * 40}
    )
    client.patch(PREFS, headers=user["headers"], json={"notifications": {"in_app": False}})
    made = container.notifications.make(
        user_id=user["user"]["user_id"], kind="plan_unlocked", title="Push only", body="b"
    )
    assert made is not None
    assert container.push.sent[-1]["title"] == "Push only"
    assert feed_page(client, user)["items"] == []


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/devices", {"platform": "windows", "token": "c" * 40}, 422, "validation_error"),
        ("POST", "/devices", {"platform": "ios", "token": "short"}, 422, "validation_error"),
        ("POST", "/devices", {"platform": "ios", "token": "has spaces in it"}, 422, "validation_error"),
        ("POST", "/devices", {"platform": "ios", "token": "c" * 5000}, 422, "validation_error"),
        ("POST", "/not-an-id/read", None, 422, "validation_error"),
        ("DELETE", "/devices/NOT-A-DEVICE", None, 422, "validation_error"),
        ("GET", "?limit=0", None, 422, "validation_error"),
        ("GET", "?cursor=garbage", None, 400, "invalid_cursor"),
    ],
)
def test_bad_input_is_a_clear_4xx(
    client: TestClient, user: dict, method: str, path: str, body: Any, status: int, code: str
) -> None:
    response = client.request(method, NOTIFICATIONS + path, headers=user["headers"], json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_another_users_notifications_and_devices_answer_404_and_stay(
    client: TestClient, container: Any, register: Callable[..., dict]
) -> None:
    owner, intruder = register(), register()
    [notification_id] = make_many(container, owner["user"]["user_id"], 1)
    device = client.post(
        f"{NOTIFICATIONS}/devices", headers=owner["headers"], json={"platform": "ios", "token": "d" * 64}
    ).json()
    attempts = [
        ("POST", f"{NOTIFICATIONS}/{notification_id}/read", "notification_not_found"),
        ("DELETE", f"{NOTIFICATIONS}/{notification_id}", "notification_not_found"),
        ("DELETE", f"{NOTIFICATIONS}/devices/{device['device_id']}", "device_not_found"),
    ]
    for method, path, code in attempts:
        response = client.request(method, path, headers=intruder["headers"])
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == code
    assert (
        client.post(f"{NOTIFICATIONS}/read-all", headers=intruder["headers"]).json()["read_through"] is None
    )
    assert feed_page(client, intruder)["items"] == []
    assert client.get(f"{NOTIFICATIONS}/devices", headers=intruder["headers"]).json()["items"] == []
    mine = feed_page(client, owner)["items"]
    assert [(i["notification_id"], i["read"]) for i in mine] == [(notification_id, False)]
    assert len(client.get(f"{NOTIFICATIONS}/devices", headers=owner["headers"]).json()["items"]) == 1
