"""After a deletion nothing of that scan or account can be written or downloaded.

The races are made deterministic by running the deletion at the exact step a request or
the worker has reached (a hook around one repository or storage call), against the real
app and DynamoDB Local.
"""

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.account.service import DELETIONS_PARTITION
from app.core.errors import DependencyUnavailableError
from app.core.security import iso, new_id, utc_now
from app.main import create_app
from tests.conftest import PASSWORD, unique_email
from tests.helpers import SCANS, upload_scan, wait_for
from tests.images import face_jpeg, face_jpeg_with_gps

AUTH = "/api/v1/auth"


def _files_of(container: Any, user_id: str) -> list[str]:
    root: Path = container.storage.root
    found = []
    for top in ("users", "uploads"):
        base = root / top / user_id
        if base.exists():
            found += [p.relative_to(root).as_posix() for p in base.rglob("*") if p.is_file()]
    return found


def _delete_account(container: Any, user_id: str) -> None:
    container.account.delete_account(user=container.users.get(user_id=user_id), password=PASSWORD)


def _wait_until_idle(container: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while container.analysis_worker._in_flight and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not container.analysis_worker._in_flight, "the worker did not finish"


def test_upload_authenticated_before_account_deletion_creates_nothing(
    client: TestClient, container: Any, user: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id = user["user"]["user_id"]
    # The one-call upload stores its scan with `create_queued` (one write, already queued).
    real_create = container.scans_repo.create_queued

    def deleted_meanwhile(**kwargs: Any) -> Any:
        _delete_account(container, user_id)  # DELETE /auth/me lands right after authentication
        return real_create(**kwargs)

    monkeypatch.setattr(container.scans_repo, "create_queued", deleted_meanwhile)
    response = client.post(
        f"{SCANS}/upload", headers=user["headers"], files={"front": ("f.jpg", face_jpeg(), "image/jpeg")}
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "account_deleted"
    assert container.scans_repo.all_for_user(user_id=user_id) == []
    assert _files_of(container, user_id) == []


def test_photo_written_after_account_deletion_is_removed(
    client: TestClient, container: Any, user: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id = user["user"]["user_id"]
    real_put = container.storage.put
    deleted = threading.Event()

    def put_after_deletion(**kwargs: Any) -> None:
        if kwargs["key"].startswith(f"users/{user_id}/") and not deleted.is_set():
            _delete_account(container, user_id)  # the whole deletion runs before this write
            deleted.set()
        real_put(**kwargs)

    monkeypatch.setattr(container.storage, "put", put_after_deletion)
    response = client.post(
        f"{SCANS}/upload", headers=user["headers"], files={"front": ("f.jpg", face_jpeg(), "image/jpeg")}
    )
    assert deleted.is_set()
    assert response.status_code in (401, 404), response.text
    assert container.scans_repo.all_for_user(user_id=user_id) == []
    assert _files_of(container, user_id) == [], "no photo may outlive its account"


@pytest.mark.parametrize("what", ["scan", "account"])
def test_worker_writes_nothing_for_a_scan_deleted_during_analysis(
    client: TestClient,
    container: Any,
    register: Callable[..., dict],
    monkeypatch: pytest.MonkeyPatch,
    what: str,
) -> None:
    user = register()
    user_id = user["user"]["user_id"]
    real_analyze = container.vision.analyze
    done = threading.Event()

    def analyze_then_delete(images: dict[str, bytes], **kwargs: Any) -> Any:
        result = real_analyze(images, **kwargs)
        if what == "scan":
            for scan in container.scans_repo.all_for_user(user_id=user_id):
                container.scans.delete(user_id=user_id, scan_id=scan.scan_id)
        else:
            _delete_account(container, user_id)
        done.set()
        return result  # ...and the worker goes on to write the overlay and the result

    monkeypatch.setattr(container.vision, "analyze", analyze_then_delete)
    upload_scan(client, user["headers"], face_jpeg())
    assert done.wait(30)
    _wait_until_idle(container)
    assert container.scans_repo.all_for_user(user_id=user_id) == []
    assert _files_of(container, user_id) == [], "overlay.jpg written after the deletion"


def test_upload_url_stops_working_once_its_scan_is_deleted(
    client: TestClient, container: Any, user: dict
) -> None:
    created = client.post(SCANS, headers=user["headers"], json={}).json()
    url = created["uploads"][0]["url"]
    assert client.delete(f"{SCANS}/{created['scan_id']}", headers=user["headers"]).status_code == 204
    put = client.put(url, content=face_jpeg_with_gps(), headers={"Content-Type": "image/jpeg"})
    assert put.status_code == 404, put.text
    assert put.json()["error"]["code"] == "scan_not_found"
    assert _files_of(container, user["user"]["user_id"]) == []


def test_upload_url_stops_working_once_the_account_is_deleted(
    client: TestClient, container: Any, user: dict
) -> None:
    created = client.post(SCANS, headers=user["headers"], json={}).json()
    url = created["uploads"][0]["url"]
    gone = client.request("DELETE", f"{AUTH}/me", headers=user["headers"], json={"password": PASSWORD})
    assert gone.status_code == 204
    put = client.put(url, content=face_jpeg_with_gps(), headers={"Content-Type": "image/jpeg"})
    assert put.status_code == 404, put.text
    assert _files_of(container, user["user"]["user_id"]) == []


def test_upload_url_refused_after_submit(client: TestClient, container: Any, user: dict) -> None:
    created = client.post(SCANS, headers=user["headers"], json={}).json()
    url = created["uploads"][0]["url"]
    assert client.put(url, content=face_jpeg(), headers={"Content-Type": "image/jpeg"}).status_code == 204
    assert client.post(f"{SCANS}/{created['scan_id']}/submit", headers=user["headers"]).status_code == 202
    late = client.put(url, content=face_jpeg_with_gps(), headers={"Content-Type": "image/jpeg"})
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "scan_not_awaiting_upload"
    wait_for(client, user["headers"], created["scan_id"])
    raw = [f for f in _files_of(container, user["user"]["user_id"]) if f.startswith("uploads/")]
    assert raw == [], "the raw upload (with its GPS) must not come back"


def test_sweep_removes_files_a_crash_left_behind(client: TestClient, container: Any, user: dict) -> None:
    user_id = user["user"]["user_id"]
    live = wait_for(client, user["headers"], upload_scan(client, user["headers"], face_jpeg())["scan_id"])
    ghost, young = new_id(), new_id()
    storage = container.storage
    for key in (f"users/{user_id}/scans/{ghost}/front.jpg", f"uploads/{user_id}/{ghost}/front"):
        storage.put(key=key, data=b"left by a crash", content_type="image/jpeg")
        old = time.time() - 2 * 3600
        os.utime(storage.root / key, (old, old))
    storage.put(
        key=f"users/{user_id}/scans/{young}/front.jpg", data=b"being written", content_type="image/jpeg"
    )
    assert container.sweeper.run_once()["orphans_removed"] >= 2
    left = _files_of(container, user_id)
    assert not any(ghost in f for f in left)
    assert any(young in f for f in left), "a file younger than the grace period is left alone"
    assert client.get(live["image_urls"]["front"]).status_code == 200, "a live scan's photo stays"


def test_start_up_survives_a_deletion_marker_whose_email_was_registered_again(
    settings: Any, container: Any, register: Callable[..., dict]
) -> None:
    # A crash after the old account and its email guard were removed, before the marker was.
    old_user_id, email = new_id(), unique_email()
    container.records.put(
        owner=DELETIONS_PARTITION, key=old_user_id, values={"email": email, "requested_at": iso(utc_now())}
    )
    newcomer = register(email=email)
    with TestClient(create_app(settings)) as restarted:
        assert restarted.get(f"{AUTH}/me", headers=newcomer["headers"]).status_code == 200
    assert container.records.get(owner=DELETIONS_PARTITION, key=old_user_id) is None
    assert container.users.get_by_email(email=email).user_id == newcomer["user"]["user_id"]


def test_one_failing_deletion_does_not_stop_the_others(
    container: Any, register: Callable[..., dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    failing, fine = register(), register()
    for who in (failing, fine):
        container.records.put(
            owner=DELETIONS_PARTITION,
            key=who["user"]["user_id"],
            values={"email": who["email"], "requested_at": iso(utc_now())},
        )
    real = container.plans_repo.delete_all

    def broken_for_one(*, user_id: str) -> int:
        if user_id == failing["user"]["user_id"]:
            raise DependencyUnavailableError("plans table unavailable")
        return real(user_id=user_id)

    monkeypatch.setattr(container.plans_repo, "delete_all", broken_for_one)
    counts = container.account.resume_pending_deletions()
    assert counts["failed"] == 1
    assert counts["resumed"] >= 1
    assert container.users.get(user_id=fine["user"]["user_id"]) is None
    assert container.records.get(owner=DELETIONS_PARTITION, key=failing["user"]["user_id"]) is not None
    monkeypatch.undo()
    container.account.resume_pending_deletions()
    assert container.users.get(user_id=failing["user"]["user_id"]) is None


def _race_upload_and_deletion(client: TestClient, headers: dict) -> dict[str, int]:
    answers: dict[str, int] = {}

    def upload() -> None:
        files = {"front": ("f.jpg", face_jpeg(), "image/jpeg")}
        answers["upload"] = client.post(f"{SCANS}/upload", headers=headers, files=files).status_code

    def delete() -> None:
        answers["delete"] = client.request(
            "DELETE", f"{AUTH}/me", headers=headers, json={"password": PASSWORD}
        ).status_code

    threads = [threading.Thread(target=upload), threading.Thread(target=delete)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def test_uploads_racing_account_deletion_over_http_leave_nothing(
    client: TestClient, container: Any, register: Callable[..., dict]
) -> None:
    """The same race without hooks: real threads, eight tries, whatever the interleaving."""
    for _ in range(8):
        user = register()
        user_id = user["user"]["user_id"]
        answers = _race_upload_and_deletion(client, user["headers"])
        assert answers["delete"] == 204
        assert answers["upload"] in (202, 401, 404)
        _wait_until_idle(container)
        assert container.scans_repo.all_for_user(user_id=user_id) == []
        assert _files_of(container, user_id) == []
