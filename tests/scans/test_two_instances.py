"""Two real API processes (uvicorn) on one DynamoDB Local: what runs in every instance is
still done once — each scan analysed by exactly one of them, the storage sweep run by one
instance per interval.

`two_instances` is the fixture to reuse for other per-instance schedulers (the reminder
scheduler: assert one reminder item per due reminder across both logs and the table).
"""

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.security import new_id
from tests.conftest import PASSWORD, unique_email
from tests.images import face_jpeg
from tests.processes import Child, api_instance, isolated_tables, process_env, wait_until

SCANS_PER_INSTANCE = 2


@pytest.fixture
def two_instances(dynamodb_endpoint: str, tmp_path: Path) -> Iterator[tuple[Child, Child]]:
    """Two API instances sharing tables and (local, same machine) image storage, each with
    two workers, recovery every 0.3 s (so each also races for the other's scans) and a
    storage sweep every second."""
    env = process_env(
        dynamodb_endpoint,
        tmp_path / "data",
        analysis_workers=2,
        analysis_sweep_seconds=0.3,
        storage_sweep_seconds=1,
        **isolated_tables(f"two-{new_id().lower()}"),
    )
    with api_instance(env, tmp_path / "a.log") as first, api_instance(env, tmp_path / "b.log") as second:
        yield first, second


def upload(base_url: str, headers: dict[str, str]) -> str:
    files = {"front": ("front.jpg", face_jpeg(), "image/jpeg")}
    response = httpx.post(f"{base_url}/api/v1/scans/upload", headers=headers, files=files, timeout=30)
    assert response.status_code == 202, response.text
    return str(response.json()["scan_id"])


def logged(children: tuple[Child, ...], message: str) -> list[dict[str, Any]]:
    return [line for child in children for line in child.log_lines() if line["msg"] == message]


def test_each_scan_is_analysed_once_and_the_sweep_runs_once_per_interval(
    two_instances: tuple[Child, Child],
) -> None:
    first, second = two_instances
    registered = httpx.post(
        f"{first.base_url}/api/v1/auth/register",
        json={"email": unique_email(), "password": PASSWORD},
        timeout=30,
    )
    assert registered.status_code == 201, registered.text
    headers = {"Authorization": f"Bearer {registered.json()['tokens']['access_token']}"}

    scan_ids = [
        upload(child.base_url, headers) for child in (first, second) for _ in range(SCANS_PER_INSTANCE)
    ]

    def all_finished() -> list[dict[str, Any]] | None:
        # Read from the other instance than the one each scan was sent to: one shared state.
        scans = [
            httpx.get(f"{second.base_url}/api/v1/scans/{scan_id}", headers=headers, timeout=10).json()
            for scan_id in scan_ids
        ]
        return scans if all(s["status"] in {"completed", "failed"} for s in scans) else None

    finished = wait_until(all_finished, timeout=120, message="every scan analysed")
    assert [s["status"] for s in finished] == ["completed"] * len(scan_ids)
    # Let both instances' sweeps and recovery loops run a few more times.
    wait_until(
        lambda: len(logged((first, second), "maintenance sweep ran")) >= 3, timeout=30, message="sweeps"
    )

    both = (first, second)
    started = Counter(line["scan_id"] for line in logged(both, "analysis started"))
    assert started == Counter(dict.fromkeys(scan_ids, 1)), "a scan was analysed more than once (or never)"
    # Both processes tried to claim every scan (each one's recovery loop saw all of them), yet
    # the work was shared out by the claims rather than done twice.
    by_instance = {child.log_path.name: logged((child,), "analysis started") for child in both}
    assert sum(len(lines) for lines in by_instance.values()) == len(scan_ids)

    sweeps = logged(both, "maintenance sweep ran")
    windows = Counter(line["window"] for line in sweeps)
    assert all(count == 1 for count in windows.values()), f"two instances swept in one interval: {windows}"


@pytest.fixture
def two_schedulers(dynamodb_endpoint: str, tmp_path: Path) -> Iterator[tuple[Child, Child]]:
    """Two API instances on private tables, each running the reminder scheduler every second."""
    env = process_env(
        dynamodb_endpoint,
        tmp_path / "data",
        notification_scheduler_seconds=1,
        **isolated_tables(f"remind-{new_id().lower()}"),
    )
    with api_instance(env, tmp_path / "a.log") as first, api_instance(env, tmp_path / "b.log") as second:
        yield first, second


def test_a_due_reminder_is_made_exactly_once_by_two_instances(two_schedulers: tuple[Child, Child]) -> None:
    first, second = two_schedulers
    registered = httpx.post(
        f"{first.base_url}/api/v1/auth/register",
        json={"email": unique_email(), "password": PASSWORD},
        timeout=30,
    )
    assert registered.status_code == 201, registered.text
    headers = {"Authorization": f"Bearer {registered.json()['tokens']['access_token']}"}
    scan_id = upload(first.base_url, headers)
    wait_until(
        lambda: (
            httpx.get(f"{first.base_url}/api/v1/scans/{scan_id}", headers=headers, timeout=10).json()[
                "status"
            ]
            == "completed"
        ),
        timeout=120,
        message="the scan analysed",
    )
    plan = httpx.post(f"{first.base_url}/api/v1/plans", headers=headers, json={}, timeout=30)
    assert plan.status_code == 201, plan.text
    # The next whole minute in UTC (the user's zone), far enough ahead that no tick passes it first.
    now = datetime.now(UTC)
    due = (now + timedelta(minutes=2 if now.second > 45 else 1)).replace(second=0, microsecond=0)
    set_time = httpx.patch(
        f"{second.base_url}/api/v1/users/me/preferences",
        headers=headers,
        json={"timezone": "UTC", "am_reminder_time": due.strftime("%H:%M")},
        timeout=30,
    )
    assert set_time.status_code == 200, set_time.text

    def reminders() -> list[dict[str, Any]]:
        feed = httpx.get(f"{first.base_url}/api/v1/notifications", headers=headers, timeout=10).json()
        return [n for n in feed["items"] if n["kind"] == "routine_am"]

    wait_until(lambda: reminders() or None, timeout=180, message="the AM reminder")
    # Both schedulers keep ticking over that minute (and catching up from the shared cursor).
    time.sleep(4)
    made = reminders()
    assert len(made) == 1, made
