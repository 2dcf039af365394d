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

import httpx

from app.db.local_dynamodb import free_port
from tests.conftest import PASSWORD, unique_email
from tests.envfiles import ENV_EXAMPLE, ROOT, setting_names


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def make_run(workdir: Path, *, port: int, dynamodb_port: int) -> Iterator[str]:
    """`python -m app.devserver` from `workdir` until the API is ready; stopped with SIGTERM."""
    env = {key: value for key, value in os.environ.items() if key not in setting_names()}
    env.update(PYTHONPATH=str(ROOT), PORT=str(port), DYNAMODB_LOCAL_PORT=str(dynamodb_port))
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
    env = {key: value for key, value in os.environ.items() if key not in setting_names()}
    env.update(PYTHONPATH=str(ROOT), ENVIRONMENT="production", SECRET_KEY="short")
    result = subprocess.run(
        [sys.executable, "-m", "app.devserver"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    for problem in ("SECRET_KEY must be a random value", "MAIL_BACKEND=log", "SINGLE_INSTANCE=true"):
        assert problem in result.stderr
    assert not (tmp_path / ".data").exists()  # nothing started, nothing written
