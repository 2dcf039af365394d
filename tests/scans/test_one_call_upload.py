"""The one-call upload (`POST /scans/upload`) stores a scan in one DynamoDB transaction.

The request's own DynamoDB calls are watched with botocore's `provide-client-params` hook
on the app's client; the analysis worker's calls (threads named `analysis_*`) are left out,
so only what the request itself wrote is counted.
"""

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.security import iso, utc_now
from app.db.guards import USER_ALIVE
from app.scans.service import AccountGoneError
from tests.helpers import upload_scan, wait_for
from tests.images import face_jpeg


class CallLog:
    """DynamoDB operations and storage methods called by request threads, with their params."""

    def __init__(self) -> None:
        self.dynamodb: list[tuple[str, dict[str, Any]]] = []
        self.storage: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    @staticmethod
    def _from_request() -> bool:
        return not threading.current_thread().name.startswith("analysis")

    def on_dynamodb(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self._from_request():
            with self._lock:
                self.dynamodb.append((model.name, json.loads(json.dumps(params, default=str))))

    def for_user(self, operation: str, user_id: str) -> list[dict[str, Any]]:
        return [p for name, p in self.dynamodb if name == operation and user_id in json.dumps(p)]


@pytest.fixture
def calls(container: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[CallLog]:
    log = CallLog()
    events = container.dynamodb.meta.events
    events.register("provide-client-params.dynamodb.*", log.on_dynamodb, unique_id="one-call-upload-log")
    storage = container.storage
    for method in ("upload_target", "list_objects", "delete_prefix", "put"):
        original = getattr(storage, method)

        def spy(*args: Any, _name: str = method, _original: Any = original, **kwargs: Any) -> Any:
            if CallLog._from_request():
                log.storage.append((_name, kwargs))
            return _original(*args, **kwargs)

        monkeypatch.setattr(storage, method, spy)
    yield log
    events.unregister("provide-client-params.dynamodb.*", unique_id="one-call-upload-log")


def test_the_one_call_upload_is_one_transaction(
    client: TestClient, container: Any, user: dict[str, Any], calls: CallLog
) -> None:
    user_id = user["user"]["user_id"]
    scan = upload_scan(client, user["headers"], face_jpeg(), left=face_jpeg())
    # `processing` when an idle worker took the photos (written claimed, under its lease).
    assert scan["status"] in {"queued", "processing"}

    writes = calls.for_user("TransactWriteItems", user_id)
    assert len(writes) == 1, [w["TransactItems"] for w in writes]
    actions = writes[0]["TransactItems"]
    (put_scan,) = [a["Put"] for a in actions if "Put" in a and "scan_date" in a["Put"]["Item"]]
    item = put_scan["Item"]
    assert item["status"] == {"S": scan["status"]}
    assert ("lease_expires_at" in item) == (scan["status"] == "processing")
    assert set(item["image_keys"]["M"]) == {"front", "left"}
    assert "upload_keys" not in item or item["upload_keys"] == {"M": {}}
    # The job marker travels with the scan, and the write still depends on the user existing.
    assert any("Put" in a and a["Put"]["Item"].get("owner_id") == {"S": user_id} for a in actions)
    # (an Update with the alive condition: it also moves the user's data version on)
    user_checks = [
        a["Update"] for a in actions if a.get("Update", {}).get("ConditionExpression") == USER_ALIVE
    ]
    assert user_checks
    assert "ADD #version" in user_checks[0]["UpdateExpression"]
    # No second write moves it to queued afterwards (the one update is the quota counter).
    scans_table = container.settings.table_names["scans"]
    for operation in ("UpdateItem", "PutItem"):
        assert [p for p in calls.for_user(operation, user_id) if p["TableName"] == scans_table] == []
    (counter,) = calls.for_user("UpdateItem", user_id)
    assert counter["Key"]["sk"]["S"].startswith("ratelimit#scans#")

    # Only the checked photos are stored: no upload link is signed, no `uploads/` prefix listed.
    assert [name for name, _ in calls.storage] == ["put", "put"]
    assert wait_for(client, user["headers"], scan["scan_id"])["status"] == "completed"


def test_the_one_call_write_still_needs_a_live_account(user: dict[str, Any], container: Any) -> None:
    user_id = user["user"]["user_id"]
    container.users.mark_deletion_requested(user_id=user_id, requested_at=iso(utc_now()))
    with pytest.raises(AccountGoneError):
        container.scans.create_from_upload(user_id=user_id, images={"front": face_jpeg()})
    assert container.scans_repo.all_for_user(user_id=user_id) == []
    assert list(container.storage.list_objects(prefix=f"users/{user_id}/")) == []
    assert list(container.storage.list_objects(prefix=f"uploads/{user_id}/")) == []
