"""Restarts and outages: no submitted scan is lost, DynamoDB going away gives 503 then recovers."""

import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.core.security import iso, utc_now
from app.db.local_dynamodb import DynamoDBLocal, free_port
from app.main import create_app
from app.scans.service import image_key
from app.scans.worker import AnalysisProcessor
from tests.conftest import PASSWORD, make_settings, unique_email
from tests.helpers import wait_for
from tests.images import face_jpeg


def test_scan_interrupted_mid_processing_completes_after_restart(settings, user: dict, container) -> None:
    client_headers = user["headers"]
    user_id = user["user"]["user_id"]
    scan, _ = container.scans.create(user_id=user_id, angles=["front"], idempotency_key=None)
    keys = {"front": image_key(user_id, scan.scan_id, "front")}
    container.storage.put(key=keys["front"], data=face_jpeg(), content_type="image/jpeg")
    # The process "crashes" after queuing and claiming, with the lease already run out.
    assert container.scans_repo.mark_uploaded(scan=scan, image_keys=keys, now=iso(utc_now()))
    past = utc_now() - timedelta(minutes=10)
    claimed = container.scans_repo.claim(
        user_id=user_id, scan_id=scan.scan_id, now=iso(past), lease_until=iso(past)
    )
    assert claimed is not None
    assert claimed.status == "processing"

    with TestClient(create_app(settings)) as restarted:
        done = wait_for(restarted, client_headers, scan.scan_id)
    assert done["status"] == "completed"
    assert done["scores"]["overall"] > 0


def test_dynamodb_outage_gives_503_and_recovers(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "ddb"
    settings = make_settings(f"http://127.0.0.1:{port}", tmp_path, aws_max_attempts=1)
    local = DynamoDBLocal(port=port, data_dir=data_dir).start()
    try:
        with TestClient(create_app(settings)) as client:
            email = unique_email()
            registered = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
            assert registered.status_code == 201
            headers = {"Authorization": f"Bearer {registered.json()['tokens']['access_token']}"}

            local.stop()
            down = client.get("/api/v1/auth/me", headers=headers)
            assert down.status_code == 503
            assert down.json()["error"]["code"] == "service_unavailable"
            assert "Traceback" not in down.text
            assert client.get("/health/ready").status_code == 503
            assert client.get("/health").status_code == 200

            local = DynamoDBLocal(port=port, data_dir=data_dir).start()
            deadline = time.monotonic() + 20
            while client.get("/health/ready").status_code != 200:
                assert time.monotonic() < deadline, "did not recover"
                time.sleep(0.2)
            assert client.get("/api/v1/auth/me", headers=headers).json()["email"] == email
    finally:
        local.stop()


class SlowVision:
    """The real local analyser, taking longer than a lease (a slow model, a huge photo)."""

    name = "local"

    def __init__(self, inner: Any, seconds: float) -> None:
        self._inner = inner
        self._seconds = seconds

    def analyze(self, images: dict[str, bytes]) -> Any:
        time.sleep(self._seconds)
        return self._inner.analyze(images)

    def render_overlay(self, image: bytes, analysis: Any) -> bytes:
        return self._inner.render_overlay(image, analysis)


def test_a_live_worker_keeps_its_scan_past_the_lease(user: dict, container: Any) -> None:
    user_id = user["user"]["user_id"]
    scan, _ = container.scans.create(user_id=user_id, angles=["front"], idempotency_key=None)
    keys = {"front": image_key(user_id, scan.scan_id, "front")}
    container.storage.put(key=keys["front"], data=face_jpeg(), content_type="image/jpeg")
    assert container.scans_repo.mark_uploaded(scan=scan, image_keys=keys, now=iso(utc_now()))
    lease = 0.6

    def worker(vision: Any) -> AnalysisProcessor:
        return AnalysisProcessor(
            scans=container.scans_repo, storage=container.storage, vision=vision, lease_seconds=lease
        )

    slow = worker(SlowVision(container.vision, seconds=4 * lease))
    outcome: list[str | None] = []
    running = threading.Thread(target=lambda: outcome.append(slow.process(user_id, scan.scan_id)))
    running.start()
    time.sleep(2.5 * lease)  # well past the first lease: only the heartbeat keeps the claim
    assert worker(container.vision).process(user_id, scan.scan_id) is None  # another instance
    running.join(timeout=30)
    assert outcome == ["completed"]
    finished = container.scans_repo.get(user_id=user_id, scan_id=scan.scan_id)
    assert finished.attempts == 1  # never taken over while its worker was alive
    assert finished.lease_expires_at is None
