"""Helpers shared by test modules (no test module imports another)."""

import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

SCANS = "/api/v1/scans"
CHAT = "/api/v1/chat"


def wait_for(client: TestClient, headers: dict, scan_id: str, timeout: float = 30) -> dict[str, Any]:
    """Poll a scan until it is completed or failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"{SCANS}/{scan_id}", headers=headers).json()
        if body["status"] in {"completed", "failed"}:
            return body
        time.sleep(0.05)
    raise AssertionError(f"scan {scan_id} did not finish")


def upload_scan(client: TestClient, headers: dict, front: bytes, **others: bytes) -> dict[str, Any]:
    """A one-call upload (202) of a front photo and any other angles."""
    files = {"front": ("front.jpg", front, "image/jpeg")}
    files.update({angle: (f"{angle}.jpg", data, "image/jpeg") for angle, data in others.items()})
    response = client.post(f"{SCANS}/upload", headers=headers, files=files)
    assert response.status_code == 202, response.text
    return response.json()


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def send(client: TestClient, user: dict, content: str, session_id: str | None = None) -> dict[str, Any]:
    """Send one chat message (201) as `user`."""
    body = {"content": content, **({"session_id": session_id} if session_id else {})}
    response = client.post(f"{CHAT}/messages", headers=user["headers"], json=body)
    assert response.status_code == 201, response.text
    return response.json()


def fresh_ip(prefix: str = "198.51.100") -> str:
    """A client address no other test is likely to use: counters live in the shared DynamoDB
    Local, so tests that count per address need their own (65k choices per prefix)."""
    first, second = prefix.split(".")[:2]
    return f"{first}.{second}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def in_threads(count: int, work: Callable[[], Any]) -> list[Any]:
    """Run `work` in `count` threads released at one moment; their results in any order."""
    barrier = threading.Barrier(count)
    results: list[Any] = []

    def run() -> None:
        barrier.wait()
        results.append(work())

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# The app's own background work (the periodic sweeps run by asyncio.to_thread, the analysis
# pool, lease heartbeats): not part of the request being counted, even when it coincides.
BACKGROUND_THREADS = ("asyncio_", "analysis", "lease-")


class DynamoDBCalls:
    """Counts the DynamoDB calls a client makes (botocore events), with their consumed capacity.

    `requests_only=True` leaves out the app's background threads (sweeps, analysis), whose
    periodic calls would otherwise land in a request's count when they coincide.
    `capacity=True` also asks DynamoDB for `ReturnConsumedCapacity=TOTAL` on every call that
    takes it, so the capacity units of each call are recorded beside its name.
    """

    def __init__(self, client: Any, *, capacity: bool = False, requests_only: bool = False) -> None:
        self._client = client
        self._capacity = capacity
        self._requests_only = requests_only
        self._lock = threading.Lock()
        self.calls: list[tuple[str, float]] = []
        self._recording = False

    def _ask_capacity(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self._capacity and "ReturnConsumedCapacity" in model.input_shape.members:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")

    def _after(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if not self._recording:
            return
        if self._requests_only and threading.current_thread().name.startswith(BACKGROUND_THREADS):
            return
        consumed = parsed.get("ConsumedCapacity") or []
        if isinstance(consumed, dict):
            consumed = [consumed]
        units = sum(float(c.get("CapacityUnits", 0)) for c in consumed)
        with self._lock:
            self.calls.append((model.name, units))

    def __enter__(self) -> "DynamoDBCalls":
        events = self._client.meta.events
        events.register(
            "provide-client-params.dynamodb.*", self._ask_capacity, unique_id=f"count-{id(self)}-p"
        )
        events.register("after-call.dynamodb.*", self._after, unique_id=f"count-{id(self)}-a")
        self._recording = True
        return self

    def __exit__(self, *exc: object) -> None:
        self._recording = False
        events = self._client.meta.events
        events.unregister("provide-client-params.dynamodb.*", unique_id=f"count-{id(self)}-p")
        events.unregister("after-call.dynamodb.*", unique_id=f"count-{id(self)}-a")

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    @property
    def capacity(self) -> float:
        return sum(units for _, units in self.calls)
