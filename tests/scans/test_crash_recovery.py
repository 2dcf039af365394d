"""The API process SIGKILLed while scans are analysed: after a restart every scan finishes.

A real uvicorn subprocess against the session's DynamoDB Local, killed with SIGKILL (no
shutdown hook runs), then started again on the same data dir. The lease is short here
(ANALYSIS_LEASE_SECONDS=3) so the takeover of the scan that was mid-analysis is quick. The
tables are this test's own: the session's app would otherwise see the job markers too and,
with its own image directory, fail the scans as an instance without the photos would.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from app.core.security import new_id
from app.db.dynamodb import build_dynamodb_client
from app.db.local_dynamodb import free_port
from app.scans.repository import ScansRepository
from tests.conftest import PASSWORD, make_settings, unique_email
from tests.envfiles import ROOT, setting_names
from tests.images import encode, face_rgb

LEASE_SECONDS = 3
SWEEP_SECONDS = 1
SCANS = 4
KILL_ATTEMPTS = 3


def phone_photo() -> bytes:
    """The face at a 12 MP phone's size: its analysis lasts long enough for the kill to land
    inside it (a 1 MP one is over in tens of milliseconds, about the gap between two scans)."""
    from PIL import Image

    return encode(np.asarray(Image.fromarray(face_rgb()).resize((3024, 4032))), quality=90)


@contextmanager
def api_process(
    workdir: Path, *, port: int, endpoint: str, tables: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """`uvicorn --factory app.main:create_app` until /health/ready answers 200."""
    env = {key: value for key, value in os.environ.items() if key not in setting_names()}
    env.update(
        {f"DYNAMODB_{name.upper()}_TABLE": table for name, table in tables.items()},
        PYTHONPATH=str(ROOT),
        ENVIRONMENT="test",
        SECRET_KEY="test-secret-key-that-is-long-enough-0123456789",
        AWS_DYNAMODB_ENDPOINT=endpoint,
        DERMALENS_DATA_DIR=str(workdir / "data"),
        ANALYSIS_WORKERS="1",
        ANALYSIS_LEASE_SECONDS=str(LEASE_SECONDS),
        ANALYSIS_SWEEP_SECONDS=str(SWEEP_SECONDS),
        STORAGE_SWEEP_SECONDS="0",
        LOGIN_IP_LOCKOUT_THRESHOLD="100000",
        REGISTER_PER_IP_PER_HOUR="100000",
    )
    log = (workdir / "api.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, (workdir / "api.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the API did not become ready"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
        log.close()


def statuses(base: str, headers: dict[str, str], scan_ids: list[str]) -> dict[str, dict[str, Any]]:
    return {s: httpx.get(f"{base}/api/v1/scans/{s}", headers=headers, timeout=10).json() for s in scan_ids}


def _submit_and_kill_mid_analysis(
    workdir: Path, *, port: int, endpoint: str, tables: dict[str, str], repo: ScansRepository
) -> tuple[dict[str, str], str, list[str], list[str]]:
    """Upload SCANS photos, SIGKILL the API the moment one is being analysed; the user's
    headers and id, the scan ids, and those left `processing` (claimed by the dead process)."""
    base = f"http://127.0.0.1:{port}"
    photo = phone_photo()
    with api_process(workdir, port=port, endpoint=endpoint, tables=tables) as first:
        registered = httpx.post(
            f"{base}/api/v1/auth/register", json={"email": unique_email(), "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {registered.json()['tokens']['access_token']}"}
        user_id = registered.json()["user"]["user_id"]
        scan_ids = []
        for _ in range(SCANS):
            accepted = httpx.post(
                f"{base}/api/v1/scans/upload",
                headers=headers,
                files={"front": ("front.jpg", photo, "image/jpeg")},
                timeout=30,
            )
            assert accepted.status_code == 202, accepted.text
            scan_ids.append(accepted.json()["scan_id"])
        # Kill the moment one is being analysed (one worker: the rest wait queued behind it),
        # seen in DynamoDB itself rather than through the busy API, so the kill follows at once.
        deadline = time.monotonic() + 30
        while not any(_status(repo, user_id, s) == "processing" for s in scan_ids):
            assert time.monotonic() < deadline, {s: _status(repo, user_id, s) for s in scan_ids}
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    left = {s: _status(repo, user_id, s) for s in scan_ids}
    assert "queued" in left.values() or "processing" in left.values(), left
    return headers, user_id, scan_ids, [s for s, status in left.items() if status == "processing"]


def _status(repo: ScansRepository, user_id: str, scan_id: str) -> str:
    scan = repo.get(user_id=user_id, scan_id=scan_id)
    assert scan is not None
    return scan.status


def test_every_submitted_scan_finishes_after_the_api_is_sigkilled_mid_analysis(
    tmp_path: Path, dynamodb_endpoint: str
) -> None:
    prefix = f"crash-{new_id().lower()}"
    tables = {name: f"{prefix}-{name}" for name in ("users", "scans", "plans", "chat", "records")}
    settings = make_settings(
        dynamodb_endpoint, tmp_path, **{f"dynamodb_{n}_table": t for n, t in tables.items()}
    )
    repo = ScansRepository(
        build_dynamodb_client(settings), tables["scans"], tables["records"], tables["users"]
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # The kill can fall in the gap between two analyses (a result's bookkeeping, the next
    # claim); then nothing was interrupted and the scenario runs again, with new scans.
    for _ in range(KILL_ATTEMPTS):
        headers, user_id, scan_ids, interrupted = _submit_and_kill_mid_analysis(
            tmp_path, port=port, endpoint=dynamodb_endpoint, tables=tables, repo=repo
        )
        if interrupted:
            break
    assert interrupted, "no kill landed inside an analysis"

    with api_process(tmp_path, port=port, endpoint=dynamodb_endpoint, tables=tables):
        deadline = time.monotonic() + 60
        while True:
            done = statuses(base, headers, scan_ids)
            if all(body["status"] in {"completed", "failed"} for body in done.values()):
                break
            assert time.monotonic() < deadline, {s: b["status"] for s, b in done.items()}
            time.sleep(0.2)

    # A real face photo: every scan, the interrupted one included, ends up scored.
    assert {body["status"] for body in done.values()} == {"completed"}
    assert all(body["scores"]["overall"] > 0 for body in done.values())
    for scan_id in interrupted:
        # Claimed by the dead process, then again by the restarted one once its lease lapsed.
        assert repo.get(user_id=user_id, scan_id=scan_id).attempts == 2
