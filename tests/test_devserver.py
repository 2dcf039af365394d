"""`cp .env.example .env && make run`, for real: the launcher in a subprocess, started twice."""

import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import httpx
import pytest

from app import devserver
from app.core.config import get_settings
from app.db.local_dynamodb import free_port
from tests.conftest import PASSWORD, unique_email
from tests.envfiles import ENV_EXAMPLE, ROOT, clear_setting_env, setting_names


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def make_run(workdir: Path, *, port: int, dynamodb_port: int, **settings: str) -> Iterator[str]:
    """`python -m app.devserver` from `workdir` until the API is ready; stopped with SIGTERM."""
    env = {key: value for key, value in os.environ.items() if key not in setting_names()}
    env.update(PYTHONPATH=str(ROOT), PORT=str(port), DYNAMODB_LOCAL_PORT=str(dynamodb_port), **settings)
    log = (workdir / "devserver.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "app.devserver"], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, (workdir / "devserver.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the dev server did not become ready"
            try:
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
    assert process.returncode == 0, (workdir / "devserver.log").read_text()[-3000:]


def test_make_run_from_env_example_is_local_only_and_keeps_its_secret_key(tmp_path: Path) -> None:
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env")
    port, dynamodb_port = free_port(), free_port()
    email = unique_email()

    with make_run(tmp_path, port=port, dynamodb_port=dynamodb_port) as base:
        # 127.0.0.2 reaches this machine but is not loopback's bound address: a LAN peer's view.
        assert _accepts("127.0.0.1", port)
        assert not _accepts("127.0.0.2", port)
        assert _accepts("127.0.0.1", dynamodb_port)
        assert not _accepts("127.0.0.2", dynamodb_port)
        registered = httpx.post(f"{base}/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        assert registered.status_code == 201, registered.text
        access = registered.json()["tokens"]["access_token"]
    # SIGTERM stopped the API's workers (exit 0, checked by make_run), then DynamoDB Local.
    assert not _accepts("127.0.0.1", port)
    assert not _accepts("127.0.0.1", dynamodb_port)

    key_file = tmp_path / ".data" / "dev-secret-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first_key = key_file.read_text()

    with make_run(tmp_path, port=port, dynamodb_port=dynamodb_port) as base:
        # Same key and same DynamoDB data after a restart: the token from the first run still works.
        me = httpx.get(f"{base}/api/v1/auth/me", headers={"Authorization": f"Bearer {access}"})
        assert me.status_code == 200
        assert me.json()["email"] == email

    assert key_file.read_text() == first_key
    assert not (tmp_path / "dynamodb-local-metadata.json").exists()


def test_an_unsafe_production_configuration_stops_the_launcher_with_a_clear_message(tmp_path: Path) -> None:
    result = _launch(tmp_path, ENVIRONMENT="production", SECRET_KEY="short")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    for problem in ("SECRET_KEY must be a random value", "MAIL_BACKEND=log", "SINGLE_INSTANCE=true"):
        assert problem in result.stderr
    assert not (tmp_path / ".data").exists()  # nothing started, nothing written


def test_make_run_uses_a_dynamodb_endpoint_it_did_not_start(tmp_path: Path, dynamodb_endpoint: str) -> None:
    # The first edition's README: DynamoDB Local started by hand, AWS_DYNAMODB_ENDPOINT set.
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env")
    port, unused_dynamodb_port = free_port(), free_port()
    email = unique_email()

    with make_run(
        tmp_path, port=port, dynamodb_port=unused_dynamodb_port, AWS_DYNAMODB_ENDPOINT=dynamodb_endpoint
    ) as base:
        registered = httpx.post(f"{base}/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        assert registered.status_code == 201, registered.text
        assert not _accepts("127.0.0.1", unused_dynamodb_port)  # no DynamoDB Local of its own

    assert not (tmp_path / ".data" / "dynamodb").exists()
    log = (tmp_path / "devserver.log").read_text()
    assert f"using DynamoDB at {dynamodb_endpoint}" in log
    # The user went to the endpoint we gave: it is there, seen from outside the launcher.
    client = boto3.client(
        "dynamodb",
        endpoint_url=dynamodb_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    found = client.query(
        TableName="dermalens-users",
        IndexName="email-index",
        KeyConditionExpression="email = :e",
        ExpressionAttributeValues={":e": {"S": email}},
    )
    assert found["Count"] == 1


def test_make_run_refuses_an_endpoint_on_the_api_port(tmp_path: Path) -> None:
    result = _launch(tmp_path, PORT="8000", AWS_DYNAMODB_ENDPOINT="http://localhost:8000")
    assert result.returncode == 2
    assert "both want port 8000; set PORT to another port" in result.stderr
    assert "Traceback" not in result.stderr


def test_make_run_explains_an_endpoint_that_does_not_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    clear_setting_env(monkeypatch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_DYNAMODB_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setattr(devserver, "EXTERNAL_WAIT_SECONDS", 0.5)
    monkeypatch.setattr(devserver, "_serve", lambda *_: pytest.fail("served without a database"))
    get_settings.cache_clear()
    try:
        assert devserver.main() == 1
    finally:
        get_settings.cache_clear()
    assert "does not answer; start it" in capfd.readouterr().err
    assert not (tmp_path / ".data" / "dynamodb").exists()


def _launch(workdir: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """`python -m app.devserver` with only these settings (none from this shell), to its end."""
    env = {key: value for key, value in os.environ.items() if key not in setting_names()}
    env.update(PYTHONPATH=str(ROOT), **settings)
    return subprocess.run(
        [sys.executable, "-m", "app.devserver"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
