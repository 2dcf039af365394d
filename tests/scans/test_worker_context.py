"""What a finished scan is compared with: the previous usable scan, found from the user's
latest-scan pointer (two small reads) and by the query only when the pointer cannot say."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.db.keys import user_key
from tests.helpers import upload_scan, wait_for
from tests.images import face_jpeg


def count_queries(monkeypatch: pytest.MonkeyPatch, container: Any) -> list[str]:
    """Scan ids whose previous scan was looked up with the `latest_completed` query."""
    repo = container.scans_repo
    original = repo.latest_completed
    asked: list[str] = []

    def latest_completed(**kwargs: Any) -> Any:
        asked.append(kwargs.get("before_scan_id", ""))
        return original(**kwargs)

    monkeypatch.setattr(repo, "latest_completed", latest_completed)
    return asked


def test_the_previous_scan_comes_from_the_pointer_without_the_query(
    client: TestClient, container: Any, user: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = count_queries(monkeypatch, container)
    first = wait_for(client, user["headers"], upload_scan(client, user["headers"], face_jpeg())["scan_id"])
    second = wait_for(client, user["headers"], upload_scan(client, user["headers"], face_jpeg())["scan_id"])
    assert first["deltas"]["previous"] is None
    assert second["deltas"]["previous"]["scan_id"] == first["scan_id"]
    assert asked == []


def test_an_account_without_the_pointer_still_gets_its_previous_scan(
    client: TestClient, container: Any, user: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id = user["user"]["user_id"]
    first = wait_for(client, user["headers"], upload_scan(client, user["headers"], face_jpeg())["scan_id"])
    # An account from before the pointers: the attribute is absent, so nobody knows.
    container.dynamodb.update_item(
        TableName=container.settings.table_names["users"],
        Key=user_key(user_id),
        UpdateExpression="REMOVE latest_scan_id",
    )
    asked = count_queries(monkeypatch, container)
    second = wait_for(client, user["headers"], upload_scan(client, user["headers"], face_jpeg())["scan_id"])
    assert second["deltas"]["previous"]["scan_id"] == first["scan_id"]
    assert asked == [second["scan_id"]]
