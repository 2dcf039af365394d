"""Real processes for the scale-out tests: uvicorn API instances and `python -m app.worker`."""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from app.db.local_dynamodb import free_port
from tests.envfiles import ROOT, setting_names

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"


def process_env(endpoint: str, data_dir: Path, **settings: Any) -> dict[str, str]:
    """The environment of a child process: this one's, minus every setting, plus `settings`."""
    env = {key: value for key, value in os.environ.items() if key.upper() not in setting_names()}
    values: dict[str, Any] = {
        "ENVIRONMENT": "test",
        "AWS_DYNAMODB_ENDPOINT": endpoint,
        "DERMALENS_DATA_DIR": str(data_dir),
        "SECRET_KEY": TEST_SECRET_KEY,
        "LOGIN_IP_LOCKOUT_THRESHOLD": 100_000,
        "REGISTER_PER_IP_PER_HOUR": 100_000,
        "LOG_FORMAT": "json",
        **{key.upper(): value for key, value in settings.items()},
    }
    env.update({key: str(value) for key, value in values.items()})
    env["PYTHONPATH"] = str(ROOT)
    return env


@dataclass
class Child:
    """A running child process and the file its output goes to."""

    process: subprocess.Popen[bytes]
    log_path: Path
    base_url: str = ""

    def log_lines(self) -> list[dict[str, Any]]:
        """Its JSON log lines (other output, such as uvicorn's own, is skipped)."""
        lines = []
        for raw in self.log_path.read_text(errors="replace").splitlines():
            if raw.startswith("{"):
                try:
                    lines.append(json.loads(raw))
                except ValueError:
                    continue
        return lines

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def _stop(child: Child) -> None:
    child.process.terminate()
    try:
        child.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        child.process.kill()
        child.process.wait(timeout=10)


@contextmanager
def child_process(args: list[str], env: dict[str, str], log_path: Path) -> Iterator[Child]:
    """Run `python <args>` until the block ends (SIGTERM, then SIGKILL after 60 s)."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        child = Child(process=process, log_path=log_path)
        try:
            yield child
        finally:
            _stop(child)


def wait_ready(child: Child, url: str, timeout: float = 90) -> None:
    """Poll `url` until it answers 200 (the child must stay alive meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        assert child.process.poll() is None, child.tail()
        assert time.monotonic() < deadline, f"{url} did not become ready:\n{child.tail()}"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)


@contextmanager
def api_instance(env: dict[str, str], log_path: Path, *, extra_args: tuple[str, ...] = ()) -> Iterator[Child]:
    """`uvicorn app.main:app` on a free port, ready to serve."""
    port = free_port()
    args = ["-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port), *extra_args]
    with child_process(args, {**env, "PORT": str(port)}, log_path) as child:
        child.base_url = f"http://127.0.0.1:{port}"
        wait_ready(child, f"{child.base_url}/health/ready")
        yield child


def wait_until(condition: Any, *, timeout: float = 60, message: str = "condition") -> Any:
    """Poll `condition()` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {message}")


def isolated_tables(tag: str) -> dict[str, str]:
    """Table-name settings of a private set of tables in the shared DynamoDB Local, so that no
    other test's worker (the session app's recovery sweep) can touch these scans."""
    return {
        f"dynamodb_{name}_table": f"{tag}-{name}" for name in ("users", "scans", "plans", "chat", "records")
    }
