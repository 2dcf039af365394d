"""A one-call upload is analysed while its request is still writing the scan (issue 15).

The request hands the checked photos to an idle worker before it stores them and writes the
item; the worker claims and records only once the item exists. These tests hold the write
back until the analysis has begun, so the overlap is proven rather than hoped for.
"""

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.security import iso, utc_now
from app.scans.service import AccountGoneError
from tests.helpers import upload_scan, wait_for
from tests.images import face_jpeg


def idle(container: Any, timeout: float = 30) -> None:
    """Until this process's workers have nothing in flight."""
    deadline = time.monotonic() + timeout
    while container.analysis_worker._in_flight and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not container.analysis_worker._in_flight, "the worker did not finish"


def spy_analyze(monkeypatch: pytest.MonkeyPatch, container: Any, before: Callable[[], None]) -> list[int]:
    """Run `before` at the start of every analysis; returns the list counting them."""
    vision = container.vision
    original = vision.analyze
    started: list[int] = []

    def analyze(images: dict[str, bytes], **kwargs: Any) -> Any:
        started.append(len(started))
        before()
        return original(images, **kwargs)

    monkeypatch.setattr(vision, "analyze", analyze)
    return started


def test_the_photo_is_analysed_before_the_scan_is_written_and_the_result_is_the_usual_one(
    client: TestClient, container: Any, user: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id = user["user"]["user_id"]
    idle(container)
    began = threading.Event()
    stored_at_start: list[int] = []

    def note() -> None:
        stored_at_start.append(len(container.scans_repo.all_for_user(user_id=user_id)))
        began.set()

    spy_analyze(monkeypatch, container, note)
    repo = container.scans_repo
    original_create = repo.create_queued

    def create_queued(**kwargs: Any) -> Any:
        # The write waits for the analysis: only an analysis begun before it can let it go.
        assert began.wait(10), "the analysis did not begin before the scan was written"
        return original_create(**kwargs)

    monkeypatch.setattr(repo, "create_queued", create_queued)
    before = len(repo.all_for_user(user_id=user_id))
    scan = upload_scan(client, user["headers"], face_jpeg())
    # Written already claimed by the worker analysing it (no claim write of its own after).
    assert scan["status"] == "processing"
    assert stored_at_start == [before]  # the new scan was not in DynamoDB yet

    done = wait_for(client, user["headers"], scan["scan_id"])
    assert done["status"] == "completed"
    # The scores are those of analysing the stored photo, as a queued scan would be.
    record = repo.get(user_id=user_id, scan_id=scan["scan_id"])
    stored = container.storage.get(key=record.image_keys["front"])
    monkeypatch.undo()
    assert done["scores"] == container.vision.analyze({"front": stored}).scores
    overlay = client.get(done["overlay_url"], headers=user["headers"])
    assert overlay.status_code == 200
    assert overlay.content[:2] == b"\xff\xd8"


def test_an_upload_refused_after_the_hand_over_leaves_no_scan_and_no_files(
    user: dict[str, Any], container: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id = user["user"]["user_id"]
    idle(container)
    started = spy_analyze(monkeypatch, container, lambda: None)
    # The account's deletion begins after the request was authenticated: the write is refused.
    container.users.mark_deletion_requested(user_id=user_id, requested_at=iso(utc_now()))
    with pytest.raises(AccountGoneError):
        container.scans.create_from_upload(user_id=user_id, images={"front": face_jpeg()})
    idle(container)
    assert started, "the photo was not handed to the idle worker"
    assert container.scans_repo.all_for_user(user_id=user_id) == []
    # Neither the photo nor an overlay of the dropped analysis was left in storage.
    assert list(container.storage.list_objects(prefix=f"users/{user_id}/")) == []


def test_a_crash_in_the_early_analysis_fails_the_scan_with_a_reason(
    client: TestClient, container: Any, user: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    idle(container)

    def crash() -> None:
        raise RuntimeError("model file unreadable")

    spy_analyze(monkeypatch, container, crash)
    scan = upload_scan(client, user["headers"], face_jpeg())
    done = wait_for(client, user["headers"], scan["scan_id"])
    assert done["status"] == "failed"
    assert done["failure"]["code"] == "internal_error"


def test_with_every_worker_busy_an_upload_is_queued_and_finishes_after_them(
    client: TestClient, container: Any, user: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    idle(container)
    release = threading.Event()
    spy_analyze(monkeypatch, container, lambda: release.wait(30) or None)
    workers = container.settings.analysis_workers
    scans = [upload_scan(client, user["headers"], face_jpeg()) for _ in range(workers + 1)]
    # Every worker holds an analysis (its scan written claimed); the last upload still
    # answered at once, queued.
    assert len(container.analysis_worker._in_flight) == workers + 1
    assert [s["status"] for s in scans] == ["processing"] * workers + ["queued"]
    release.set()
    assert [wait_for(client, user["headers"], s["scan_id"])["status"] for s in scans] == ["completed"] * (
        workers + 1
    )


def _broken_huffman_table(data: bytes) -> bytes:
    """A JPEG whose markers are intact (the header checks pass) but whose decoding fails."""
    damaged = bytearray(data)
    table = data.find(b"\xff\xc4")
    damaged[table + 5 : table + 20] = b"\xee" * 15
    return bytes(damaged)


def assert_refused_as_corrupt(client: TestClient, user: dict[str, Any]) -> None:
    """A one-call upload of a photo with a damaged Huffman table: 422 corrupt_image."""
    response = client.post(
        "/api/v1/scans/upload",
        headers=user["headers"],
        files={"front": ("face.jpg", _broken_huffman_table(face_jpeg()), "image/jpeg")},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "corrupt_image"


def test_the_workers_decode_is_the_photos_check_and_the_request_decodes_nothing(
    client: TestClient, container: Any, user: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.providers.vision.frames as frames
    import app.scans.intake as intake

    idle(container)
    request_decodes: list[bool] = []
    original_check = intake._decode
    monkeypatch.setattr(
        intake, "_decode", lambda image, **kw: request_decodes.append(True) or original_check(image, **kw)
    )
    worker_decodes: list[str] = []
    original_decode = frames.decode

    def decode(**kwargs: Any) -> Any:
        worker_decodes.append(threading.current_thread().name)
        return original_decode(**kwargs)

    monkeypatch.setattr(frames, "decode", decode)
    monkeypatch.setattr("app.providers.vision.local.decode", decode)
    scan = upload_scan(client, user["headers"], face_jpeg())
    done = wait_for(client, user["headers"], scan["scan_id"])
    assert done["status"] == "completed"
    # One decode of the photo, by the analysis: the request, which used to decode it again
    # for its validity check, took the analysis's word for it.
    assert request_decodes == []
    assert len(worker_decodes) == 1
    assert worker_decodes[0].startswith("analysis")


def test_with_a_provider_that_does_not_decode_the_request_checks_the_photo_itself(
    client: TestClient, container: Any, user: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.scans.intake as intake

    idle(container)
    vision = container.vision

    class Remote:
        """A provider that sends the bytes away (like Gemini): no decode of its own."""

        name = "remote"

        def analyze(self, images: dict[str, bytes]) -> Any:
            return vision.analyze(images)

        def render_overlay(self, image: bytes, analysis: Any) -> bytes:
            return bytes(vision.render_overlay(image, analysis))

    monkeypatch.setattr(container.analysis, "vision_for", lambda _user_id: Remote())
    request_decodes: list[bool] = []
    original_check = intake._decode
    monkeypatch.setattr(
        intake, "_decode", lambda image, **kw: request_decodes.append(True) or original_check(image, **kw)
    )
    assert_refused_as_corrupt(client, user)
    assert request_decodes == [True]
    scan = upload_scan(client, user["headers"], face_jpeg())
    assert wait_for(client, user["headers"], scan["scan_id"])["status"] == "completed"


def test_a_photo_that_fails_its_decode_after_the_hand_over_is_refused_and_leaves_nothing(
    client: TestClient, container: Any, user: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id = user["user"]["user_id"]
    idle(container)
    vision = container.vision
    original = vision.decode_photos
    started: list[str] = []

    def decode_photos(images: dict[str, bytes]) -> Any:
        started.append(threading.current_thread().name)
        return original(images)

    monkeypatch.setattr(vision, "decode_photos", decode_photos)
    analysed = spy_analyze(monkeypatch, container, lambda: None)
    assert_refused_as_corrupt(client, user)
    idle(container)
    assert started, "the photo was not handed to the idle worker"
    assert started[0].startswith("analysis")
    assert analysed == []  # its decode failed: nothing was analysed
    assert container.scans_repo.all_for_user(user_id=user_id) == []
    assert list(container.storage.list_objects(prefix=f"users/{user_id}/")) == []


def test_the_worker_writes_no_claim_of_its_own_for_a_scan_written_claimed(
    client: TestClient, container: Any, user: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    idle(container)
    repo = container.scans_repo
    claims: list[str] = []
    original = repo.claim
    monkeypatch.setattr(repo, "claim", lambda **kw: claims.append(kw["scan_id"]) or original(**kw))
    scan = upload_scan(client, user["headers"], face_jpeg())
    record = repo.get(user_id=user["user"]["user_id"], scan_id=scan["scan_id"])
    assert record is not None
    # Stored `processing` under the worker's lease by the create's one transaction...
    assert scan["status"] == "processing"
    assert record.attempts == 1
    assert record.lease_expires_at is not None
    assert record.lease_expires_at > utc_now()
    done = wait_for(client, user["headers"], scan["scan_id"])
    assert done["status"] == "completed"
    assert claims == []  # ... so the worker did not claim it again


def test_a_scan_written_claimed_whose_worker_vanished_is_recovered_once_its_lease_runs_out(
    client: TestClient, container: Any, user: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process died between the request's write and the result (SIGKILL): the scan is
    `processing` under a lease nobody renews, with its job marker, and the recovery sweep
    takes it once the lease has run out (tests/scans/test_crash_recovery.py does it for real)."""
    from app.scans.worker import EarlyStart

    user_id = user["user"]["user_id"]
    idle(container)
    lease = 1.5

    def taken_by_a_worker_that_vanishes(scan: Any, images: dict[str, bytes]) -> EarlyStart:
        early = EarlyStart(scan=scan, images=images, lease_seconds=lease)
        early.decoded(False)  # it never decodes (the request checks the photo itself)
        return early

    creator = container.scans._creator
    monkeypatch.setattr(creator, "_start_early", taken_by_a_worker_that_vanishes)
    scan = creator.create_from_upload(user_id=user_id, images={"front": face_jpeg()})
    monkeypatch.undo()
    assert scan.status == "processing"
    worker = container.analysis_worker
    assert scan.lease_expires_at is not None
    if utc_now() < scan.lease_expires_at:
        worker.recover()  # the lease still holds: the sweep may not take it
        idle(container)
        record = container.scans_repo.get(user_id=user_id, scan_id=scan.scan_id)
        assert record is not None
        if utc_now() < scan.lease_expires_at:
            assert record.status == "processing"
            assert record.attempts == 1
    time.sleep(max(0.0, (scan.lease_expires_at - utc_now()).total_seconds()) + 0.1)
    worker.recover()
    done = wait_for(client, user["headers"], scan.scan_id)
    assert done["status"] == "completed"
    record = container.scans_repo.get(user_id=user_id, scan_id=scan.scan_id)
    assert record is not None
    assert record.attempts == 2  # claimed again by the sweep, under a lease of its own
