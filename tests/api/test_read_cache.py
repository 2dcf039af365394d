"""Cached reads never show stale data, even read through another app instance.

`GET /scans`, `/progress` and `/plans/active` are answered from memory while the user's data
version holds (app/core/read_cache.py). Every write path that changes what they show moves
the version on, so a second instance (its own cache) sees the write at once.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app
from tests.helpers import DynamoDBCalls, today, upload_scan, wait_for
from tests.images import face_jpeg

API = "/api/v1"


@pytest.fixture(scope="module")
def other(settings: Settings) -> Iterator[TestClient]:
    """A second app instance on the same tables, with a cache of its own."""
    with TestClient(create_app(settings)) as second:
        yield second


def _scan_ids(client: TestClient, headers: dict[str, str]) -> list[str]:
    response = client.get(f"{API}/scans", headers=headers)
    assert response.status_code == 200
    return [scan["scan_id"] for scan in response.json()["items"]]


def _without_links(page: dict[str, Any]) -> dict[str, Any]:
    """A page as data: download links are signed with the second they were made in, so two
    fresh reads a second apart carry different links to the same photos."""
    items = [
        {k: v for k, v in item.items() if k not in ("image_urls", "overlay_url")} for item in page["items"]
    ]
    return {**page, "items": items}


def _progress_count(client: TestClient, headers: dict[str, str]) -> int:
    return int(client.get(f"{API}/progress", headers=headers).json()["scan_count"])


def test_a_repeated_read_costs_only_the_user_read(client: TestClient, container: Any, register: Any) -> None:
    user = register()
    scan = upload_scan(client, user["headers"], face_jpeg())
    assert wait_for(client, user["headers"], scan["scan_id"])["status"] == "completed"
    assert client.post(f"{API}/plans", headers=user["headers"], json={}).status_code == 201
    for path in ("/scans", "/progress", "/plans/active"):
        first = client.get(f"{API}{path}", headers=user["headers"])
        with DynamoDBCalls(container.dynamodb, requests_only=True) as counted:
            again = client.get(f"{API}{path}", headers=user["headers"])
        assert again.json() == first.json(), path
        assert counted.names == ["GetItem"], path


def test_new_and_deleted_scans_show_at_once_on_another_instance(
    client: TestClient, other: TestClient, register: Any
) -> None:
    user = register()
    headers = user["headers"]
    assert _scan_ids(other, headers) == []
    assert _progress_count(other, headers) == 0

    scan_id = upload_scan(client, headers, face_jpeg())["scan_id"]
    assert _scan_ids(other, headers) == [scan_id]
    assert wait_for(client, headers, scan_id)["status"] == "completed"
    listed = other.get(f"{API}/scans", headers=headers).json()["items"]
    assert listed[0]["status"] == "completed"
    assert listed[0]["scores"]
    assert _progress_count(other, headers) == 1

    assert client.delete(f"{API}/scans/{scan_id}", headers=headers).status_code == 204
    assert _scan_ids(other, headers) == []
    assert _progress_count(other, headers) == 0


def test_a_started_scan_and_its_expiry_show_on_another_instance(
    client: TestClient, other: TestClient, register: Any, container: Any
) -> None:
    user = register()
    headers = user["headers"]
    assert _scan_ids(other, headers) == []
    created = client.post(f"{API}/scans", headers=headers, json={"angles": ["front"]})
    assert created.status_code == 201
    scan_id = created.json()["scan_id"]
    assert other.get(f"{API}/scans", headers=headers).json()["items"][0]["status"] == "awaiting_upload"

    scan = container.scans_repo.get(user_id=user["user"]["user_id"], scan_id=scan_id)
    assert container.scans_repo.expire(scan=scan, now=scan.created_at.isoformat())
    assert other.get(f"{API}/scans", headers=headers).json()["items"][0]["status"] == "expired"


def test_plan_changes_show_at_once_on_another_instance(
    client: TestClient, other: TestClient, register: Any
) -> None:
    user = register()
    headers = user["headers"]
    scan_id = upload_scan(client, headers, face_jpeg())["scan_id"]
    assert wait_for(client, headers, scan_id)["status"] == "completed"
    assert other.get(f"{API}/plans/active", headers=headers).status_code == 404

    plan_id = client.post(f"{API}/plans", headers=headers, json={}).json()["plan_id"]
    active = other.get(f"{API}/plans/active", headers=headers).json()
    assert active["plan_id"] == plan_id
    assert not any("dermatologist" in warning for warning in active["warnings"])

    reaction = {"severity": "severe", "description": "burning"}
    checkin = {"date": today(), "am_done": True, "pm_done": False, "reaction": reaction}
    assert client.post(f"{API}/plans/{plan_id}/checkins", headers=headers, json=checkin).status_code == 201
    warned = other.get(f"{API}/plans/active", headers=headers).json()
    assert any("dermatologist" in warning for warning in warned["warnings"])

    paused = client.patch(f"{API}/plans/{plan_id}", headers=headers, json={"status": "paused"})
    assert paused.status_code == 200
    assert other.get(f"{API}/plans/active", headers=headers).json()["status"] == "paused"
    assert (
        client.patch(f"{API}/plans/{plan_id}", headers=headers, json={"status": "abandoned"}).status_code
        == 200
    )
    assert other.get(f"{API}/plans/active", headers=headers).status_code == 404


def test_another_users_cached_page_is_never_served(client: TestClient, register: Any) -> None:
    owner, stranger = register(), register()
    scan_id = upload_scan(client, owner["headers"], face_jpeg())["scan_id"]
    assert _scan_ids(client, owner["headers"]) == [scan_id]
    assert _scan_ids(client, stranger["headers"]) == []


def test_a_kept_answer_carries_the_links_of_the_host_that_asked(client: TestClient, register: Any) -> None:
    """The rendered answer is kept per base URL: a client on another host gets its own links."""
    user = register()
    scan_id = upload_scan(client, user["headers"], face_jpeg())["scan_id"]
    assert wait_for(client, user["headers"], scan_id)["status"] == "completed"
    for host in ("api.example.com", "10.0.0.7:8000", "api.example.com"):
        items = client.get(f"{API}/scans", headers={**user["headers"], "Host": host}).json()["items"]
        assert items[0]["overlay_url"].startswith(f"http://{host}/"), host
        assert all(url.startswith(f"http://{host}/") for url in items[0]["image_urls"].values()), host


def test_a_later_page_or_a_date_range_is_read_afresh(
    client: TestClient, container: Any, register: Any
) -> None:
    """Only the first page is kept (the one read consistently); other pages query every time."""
    user = register()
    for _ in range(2):
        scan_id = upload_scan(client, user["headers"], face_jpeg())["scan_id"]
        assert wait_for(client, user["headers"], scan_id)["status"] == "completed"
    first = client.get(f"{API}/scans?limit=1", headers=user["headers"]).json()
    second_path = f"{API}/scans?limit=1&cursor={first['next_cursor']}"
    ranged_path = f"{API}/scans?from=2000-01-01"
    for path in (second_path, ranged_path):
        before = client.get(path, headers=user["headers"])
        assert before.status_code == 200, path
        assert before.json()["items"], path
        with DynamoDBCalls(container.dynamodb, requests_only=True) as counted:
            again = client.get(path, headers=user["headers"]).json()
        assert _without_links(again) == _without_links(before.json()), path
        assert counted.names == ["GetItem", "Query"], path
