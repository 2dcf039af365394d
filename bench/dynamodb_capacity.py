"""DynamoDB capacity per user action, measured: `python bench/dynamodb_capacity.py [--runs N]`.

Runs the real app (TestClient, local vision and assistant) against its own DynamoDB Local and
asks DynamoDB for the capacity every call consumed (`ReturnConsumedCapacity=TOTAL`, added to
each request by a botocore hook on the app's own client). Prints a Markdown table: calls,
read and write request units per action, and what a million of each action costs on
on-demand billing at the prices below (us-east-1 list prices; check the pricing page for
your region). Background work (the scan's analysis) is counted with the upload that caused it.
"""

import argparse
import logging
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient

from app.bootstrap import build_container
from app.core.config import Settings
from app.db.dynamodb import build_dynamodb_client
from app.db.local_dynamodb import DynamoDBLocal, free_port
from app.main import create_app
from tests.images import face_jpeg

# On-demand, us-east-1, USD (since the November 2024 price change).
PRICE_PER_MILLION_WRU = 0.625
PRICE_PER_MILLION_RRU = 0.125
CAPACITY_OPERATIONS = {
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan",
    "BatchWriteItem", "BatchGetItem", "TransactWriteItems", "TransactGetItems",
}  # fmt: skip


class Meter:
    """Sums the consumed capacity of every DynamoDB call, per current action label."""

    def __init__(self) -> None:
        self.label = "start-up"
        self.lock = threading.Lock()
        self.calls: dict[str, int] = defaultdict(int)
        self.reads: dict[str, float] = defaultdict(float)
        self.writes: dict[str, float] = defaultdict(float)

    def add_parameter(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in CAPACITY_OPERATIONS:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")

    def record(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        consumed = parsed.get("ConsumedCapacity")
        entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
        with self.lock:
            self.calls[self.label] += 1
            for entry in entries:
                read = entry.get("ReadCapacityUnits")
                write = entry.get("WriteCapacityUnits")
                total = entry.get("CapacityUnits", 0.0)
                if read is None and write is None:
                    # Only a total: reads and writes are told apart by the operation.
                    is_write = model.name in {
                        "PutItem",
                        "UpdateItem",
                        "DeleteItem",
                        "BatchWriteItem",
                        "TransactWriteItems",
                    }
                    read, write = (0.0, total) if is_write else (total, 0.0)
                self.reads[self.label] += read or 0.0
                self.writes[self.label] += write or 0.0


def measure(runs: int) -> list[tuple[str, float, float, float]]:
    meter = Meter()
    with tempfile.TemporaryDirectory() as data_dir, DynamoDBLocal(port=free_port()) as local:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            environment="test",
            aws_dynamodb_endpoint=local.endpoint,
            dermalens_data_dir=Path(data_dir),
            secret_key="bench-secret-key-that-is-long-enough-0123456789",
            login_ip_lockout_threshold=100_000,
            register_per_ip_per_hour=100_000,
        )
        container = build_container(settings)
        events = container.dynamodb.meta.events
        events.register("provide-client-params.dynamodb.*", meter.add_parameter)
        events.register("after-call.dynamodb.*", meter.record)
        photo = face_jpeg()
        with TestClient(create_app(settings, container=container)) as http:
            poller = build_dynamodb_client(settings)  # not hooked: its calls are not counted
            actions: list[str] = []
            for run in range(runs):
                actions = user_journey(
                    http, meter, photo, run, poller=poller, scans_table=settings.dynamodb_scans_table
                )
        totals = [
            (label, meter.calls[label] / runs, meter.reads[label] / runs, meter.writes[label] / runs)
            for label in actions
        ]
    return totals


def user_journey(
    http: TestClient, meter: Meter, photo: bytes, run: int, *, poller: Any, scans_table: str
) -> list[str]:
    """One user's first day: the actions a phone makes, each under its own label."""
    labels: list[str] = []
    state: dict[str, Any] = {}
    email = f"bench-{run}-{time.time_ns()}@example.com"
    password = "correct horse battery"

    def act(label: str, call: Callable[[], Any]) -> Any:
        meter.label = label
        labels.append(label)
        result = call()
        meter.label = "between actions"
        return result

    def ok(response: Any, status: int) -> Any:
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    body = act(
        "register",
        lambda: ok(http.post("/api/v1/auth/register", json={"email": email, "password": password}), 201),
    )
    headers = {"Authorization": f"Bearer {body['tokens']['access_token']}"}
    state["user_id"] = body["user"]["user_id"]
    act(
        "sign in",
        lambda: ok(http.post("/api/v1/auth/login", json={"email": email, "password": password}), 200),
    )
    act(
        "get profile (any authenticated request's user lookup)",
        lambda: ok(http.get("/api/v1/auth/me", headers=headers), 200),
    )

    def upload_and_wait() -> None:
        files = {"front": ("front.jpg", photo, "image/jpeg")}
        scan = ok(http.post("/api/v1/scans/upload", headers=headers, files=files), 202)
        state["scan_id"] = scan["scan_id"]
        deadline = time.monotonic() + 60
        # Polled with a client of our own, so that polling is not counted as the action.
        key = {"user_id": {"S": state["user_id"]}, "scan_id": {"S": scan["scan_id"]}}
        while time.monotonic() < deadline:
            item = poller.get_item(TableName=scans_table, Key=key).get("Item", {})
            status = item.get("status", {}).get("S")
            if status in {"completed", "failed"}:
                assert status == "completed", item.get("failure")
                # The worker's hook sees its last write's answer a moment after DynamoDB has
                # committed it; let it land under this label, not the next one.
                time.sleep(0.5)
                return
            time.sleep(0.05)
        raise AssertionError("analysis did not finish")

    act("upload a scan + its analysis (worker)", upload_and_wait)
    act("get one scan", lambda: ok(http.get(f"/api/v1/scans/{state['scan_id']}", headers=headers), 200))
    act("list scans (one page)", lambda: ok(http.get("/api/v1/scans", headers=headers), 200))
    act("progress (time series)", lambda: ok(http.get("/api/v1/progress", headers=headers), 200))
    plan = act("generate a plan", lambda: ok(http.post("/api/v1/plans", headers=headers, json={}), 201))
    act("get the active plan", lambda: ok(http.get("/api/v1/plans/active", headers=headers), 200))
    today = datetime.now(UTC).date().isoformat()
    act(
        "daily check-in",
        lambda: ok(
            http.post(
                f"/api/v1/plans/{plan['plan_id']}/checkins",
                headers=headers,
                json={"date": today, "am_done": True, "pm_done": True},
            ),
            201,
        ),
    )
    act(
        "chat message (local assistant)",
        lambda: ok(
            http.post("/api/v1/chat/messages", headers=headers, json={"content": "Can I use niacinamide?"}),
            201,
        ),
    )
    act("list chat sessions", lambda: ok(http.get("/api/v1/chat/sessions", headers=headers), 200))
    act("export my data", lambda: ok(http.get("/api/v1/auth/me/export", headers=headers), 200))
    act(
        "delete account",
        lambda: http.request("DELETE", "/api/v1/auth/me", headers=headers, json={"password": password}),
    )
    return labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="users to average over")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the app's request log would bury the table
    rows = measure(args.runs)
    print(f"Averaged over {args.runs} users; RRU/WRU as DynamoDB Local reports them.\n")
    print("| action | DynamoDB calls | read units | write units | USD per million actions |")
    print("|---|---:|---:|---:|---:|")
    for label, calls, reads, writes in rows:
        cost = reads * PRICE_PER_MILLION_RRU + writes * PRICE_PER_MILLION_WRU
        print(f"| {label} | {calls:.1f} | {reads:.1f} | {writes:.1f} | {cost:.2f} |")


if __name__ == "__main__":
    main()
