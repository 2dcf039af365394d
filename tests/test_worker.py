"""`python -m app.worker` with the default in-process queue: an API-only instance takes the
submits, a separate worker process finds them by their job markers and analyses them."""

import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from app.core.security import new_id
from app.main import create_app
from tests.conftest import PASSWORD, make_settings, unique_email
from tests.envfiles import ROOT
from tests.helpers import SCANS, upload_scan, wait_for
from tests.images import face_jpeg
from tests.processes import child_process, isolated_tables, process_env


def test_an_api_only_instance_and_a_worker_process_share_the_work(
    dynamodb_endpoint: str, tmp_path: Path
) -> None:
    tables = isolated_tables(f"worker-{new_id().lower()}")
    settings = make_settings(dynamodb_endpoint, tmp_path / "data", analysis_workers=0, **tables)
    with TestClient(create_app(settings)) as client:
        body = client.post(
            "/api/v1/auth/register", json={"email": unique_email(), "password": PASSWORD}
        ).json()
        headers = {"Authorization": f"Bearer {body['tokens']['access_token']}"}
        scan = upload_scan(client, headers, face_jpeg())
        assert client.get(f"{SCANS}/{scan['scan_id']}", headers=headers).json()["status"] == "queued"

        env = process_env(
            dynamodb_endpoint, tmp_path / "data", analysis_workers=1, analysis_sweep_seconds=0.5, **tables
        )
        with child_process(["-m", "app.worker"], env, tmp_path / "worker.log") as worker:
            done = wait_for(client, headers, scan["scan_id"], timeout=90)
    assert done["status"] == "completed", worker.tail()
    assert worker.process.returncode == 0, worker.tail()
    assert [line["scan_id"] for line in worker.log_lines() if line["msg"] == "analysis started"] == [
        scan["scan_id"]
    ]


def test_a_worker_process_with_no_workers_refuses_to_start(dynamodb_endpoint: str, tmp_path: Path) -> None:
    env = process_env(dynamodb_endpoint, tmp_path / "data", analysis_workers=0)
    result = subprocess.run(
        [sys.executable, "-m", "app.worker"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "ANALYSIS_WORKERS=0 leaves a worker process nothing to do" in result.stderr
