"""`python -m app.cli`: the operator's commands against DynamoDB Local and real photos."""

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.bootstrap import Container, build_container
from app.cli import main
from app.core.security import new_id
from app.db.dynamodb import ensure_tables
from app.ops.doctor import check_provider
from tests.conftest import PASSWORD, make_settings, unique_email
from tests.envfiles import ROOT
from tests.images import face_jpeg, no_face_jpeg
from tests.processes import isolated_tables, process_env


def run(argv: list[str], container: Container) -> tuple[int, str]:
    out = io.StringIO()
    code = main(argv, settings=container.settings, container=container, out=out)
    return code, out.getvalue()


@pytest.fixture
def private(dynamodb_endpoint: str, tmp_path: Path) -> Container:
    """A container on tables of its own, with no worker running (as under the CLI)."""
    settings = make_settings(dynamodb_endpoint, tmp_path, **isolated_tables(f"cli-{new_id().lower()}"))
    container = build_container(settings)
    return container


@pytest.mark.usefixtures("client")  # the session app has created the default tables
def test_doctor_against_the_embedded_default_is_all_green(dynamodb_endpoint: str, tmp_path: Path) -> None:
    # Run as an operator runs it: a process of its own, settings from the environment.
    env = process_env(dynamodb_endpoint, tmp_path / "data")
    env.pop("LOG_FORMAT")
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "doctor"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "all checks passed"
    assert all(line.startswith("[  ok]") for line in lines[:-1]), result.stdout
    report = result.stdout
    for expected in (
        "credentials",
        "table dermalens-users",
        "email-index",
        "scan-date-index",
        "session-index",
        "storage",
        "analysis queue",
        "vision provider",
        "chat provider",
    ):
        assert expected in report


def test_doctor_beside_make_run_finds_the_dynamodb_local_it_started(
    dynamodb_endpoint: str, tmp_path: Path
) -> None:
    """`make run` in one terminal, `python -m app.cli doctor` in another, both from `.env.example`:
    no endpoint is configured, and the CLI looks where `make run` put DynamoDB Local."""
    env = process_env(dynamodb_endpoint, tmp_path / "data")
    for name in ("AWS_DYNAMODB_ENDPOINT", "LOG_FORMAT", "SECRET_KEY"):
        env.pop(name)
    env["ENVIRONMENT"] = "development"
    env["DYNAMODB_LOCAL_PORT"] = dynamodb_endpoint.rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "doctor"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == "all checks passed"
    assert dynamodb_endpoint in result.stdout


def test_doctor_says_what_to_do_about_missing_tables_and_create_tables_fixes_it(private: Container) -> None:
    code, report = run(["doctor"], private)
    assert code == 1
    assert "[FAIL] table cli-" in report
    assert "run `python -m app.cli create-tables`" in report

    code, output = run(["create-tables"], private)
    assert code == 0
    assert output.startswith("created: ")
    assert output.count("cli-") == 5
    assert run(["create-tables"], private) == (0, "every table already exists\n")
    code, report = run(["doctor"], private)
    assert code == 0, report


def test_doctor_fails_when_dynamodb_does_not_answer(tmp_path: Path) -> None:
    settings = make_settings("http://127.0.0.1:1", tmp_path, aws_max_attempts=1)
    code, report = run(["doctor"], build_container(settings))
    assert code == 1
    assert "[FAIL] dynamodb" in report
    assert "does not answer" in report


class RemoteProvider:
    """A provider with the optional `doctor_check` (as the Bedrock one has)."""

    name = "bedrock"

    def __init__(self, answer: tuple[bool, str]) -> None:
        self.answer = answer

    def doctor_check(self) -> tuple[bool, str]:
        return self.answer


def test_doctor_asks_providers_that_can_check_themselves() -> None:
    ready = check_provider("vision", RemoteProvider((True, "model access granted")))
    assert (ready.ok, ready.detail) == (True, "bedrock: model access granted")
    refused = check_provider("chat", RemoteProvider((False, "AccessDeniedException on InvokeModel")))
    assert (refused.ok, refused.name) == (False, "chat provider")
    assert "AccessDeniedException" in refused.detail


def test_seed_demo_makes_an_account_someone_can_sign_in_to(client: TestClient, container: Container) -> None:
    email = unique_email()
    code, output = run(["seed-demo", "--email", email, "--password", PASSWORD], container)
    assert code == 0, output
    assert "scans: completed, completed, completed" in output

    tokens = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    scans = client.get("/api/v1/scans", headers=headers).json()["items"]
    assert [scan["status"] for scan in scans] == ["completed"] * 3
    # Redness eased off scan after scan: the newest scan scores redness best.
    newest, *_, oldest = scans
    assert newest["scores"]["redness"] > oldest["scores"]["redness"]
    plan = client.get("/api/v1/plans/active", headers=headers).json()
    adherence = client.get(f"/api/v1/plans/{plan['plan_id']}/adherence", headers=headers).json()
    assert (adherence["checkins"], adherence["am_percent"], adherence["pm_percent"]) == (1, 100.0, 0.0)
    sessions = client.get("/api/v1/chat/sessions", headers=headers).json()["items"]
    assert len(sessions) == 1
    messages = client.get(
        f"/api/v1/chat/sessions/{sessions[0]['session_id']}/messages", headers=headers
    ).json()
    assert len(messages["items"]) == 4

    again = run(["seed-demo", "--email", email], container)
    assert again[0] == 0
    assert "already exists" in again[1]


def test_requeue_scans_analyses_stuck_scans_and_a_users_failed_ones(private: Container) -> None:
    ensure_tables(private.dynamodb, private.settings)
    user, _ = private.auth.register(email=unique_email(), password=PASSWORD, profile={})
    # Stuck: submitted while no worker ran anywhere.
    stuck = private.scans.create_from_upload(user_id=user.user_id, images={"front": face_jpeg()}).read
    # Failed for a reason a retry can fix: its photo was missing from storage for a while.
    lost = private.scans.create_from_upload(user_id=user.user_id, images={"front": face_jpeg()}).read
    photo_key = private.scans_repo.get(user_id=user.user_id, scan_id=lost.scan_id).image_keys["front"]
    photo = private.storage.get(key=photo_key)
    private.storage.delete_prefix(prefix=photo_key)
    assert private.analysis.process(user.user_id, lost.scan_id) == "failed"
    private.storage.put(key=photo_key, data=photo, content_type="image/jpeg")
    # Failed for good: no face in the photo.
    faceless = private.scans.create_from_upload(user_id=user.user_id, images={"front": no_face_jpeg()}).read
    assert private.analysis.process(user.user_id, faceless.scan_id) == "failed"

    code, output = run(["requeue-scans", "--user", user.email, "--older-than-minutes", "0"], private)
    assert code == 0, output
    assert "failed scans queued again: 1" in output
    assert f"left alone (the photo failed its quality check): {faceless.scan_id}" in output
    assert "analysed here: 2 completed" in output
    statuses = {s.scan_id: s.status for s in private.scans_repo.all_for_user(user_id=user.user_id)}
    assert statuses == {stuck.scan_id: "completed", lost.scan_id: "completed", faceless.scan_id: "failed"}
    assert private.scans_repo.pending_job_times() == []


def test_export_user_then_delete_user(
    client: TestClient, container: Container, register: Any, tmp_path: Path
) -> None:
    user = register()
    client.post(
        "/api/v1/chat/messages", headers=user["headers"], json={"content": "Is niacinamide ok with retinol?"}
    )
    target = tmp_path / "export.json"
    code, output = run(["export-user", user["email"], "-o", str(target)], container)
    assert code == 0, output
    exported = json.loads(target.read_text())
    assert exported["profile"]["email"] == user["email"]
    assert len(exported["chat"]["messages"]) == 2  # the question and its answer
    assert "password_hash" not in json.dumps(exported)

    code, output = run(["delete-user", user["email"]], container)
    assert code == 2
    assert "--yes" in output
    assert client.get("/api/v1/auth/me", headers=user["headers"]).status_code == 200

    code, output = run(["delete-user", user["email"], "--yes", "--requested-by", "ticket-123"], container)
    assert code == 0, output
    assert client.get("/api/v1/auth/me", headers=user["headers"]).status_code == 401
    login = client.post("/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert login.status_code == 401
    assert run(["export-user", user["email"]], container) == (
        1,
        f"no user {user['email']!r} (give an email or a user id)\n",
    )
