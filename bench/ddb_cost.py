"""DynamoDB calls and consumed capacity per request for every endpoint, and the monthly cost of
one active user at on-demand prices.

The app runs in-process (Starlette's TestClient: real routing, validation and middleware) on
a fresh DynamoDB Local; every DynamoDB call is counted through botocore's events and asked for
`ReturnConsumedCapacity=TOTAL`. A scan's row includes the analysis worker's calls up to
`completed`. Reads and writes are told apart by operation (a transaction's ConditionCheck is
billed as a read by DynamoDB; DynamoDB Local reports it inside the transaction's units, so it
is counted with the writes here: a slight overestimate).

Usage: .venv/bin/python bench/ddb_cost.py [--json OUT]
"""

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient

from app.core.config import Settings
from app.db.dynamodb import build_dynamodb_client
from app.main import create_app
from bench.stack import PASSWORD, SECRET, dynamodb_local, machine
from bench.vision import build_jpeg
from tests.helpers import DynamoDBCalls

API = "/api/v1"
READ_OPERATIONS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}

# On-demand prices, US East (N. Virginia), as published on aws.amazon.com/dynamodb/pricing/on-demand/
# and aws.amazon.com/s3/pricing/ after the 2024-11-01 on-demand price cut (not re-checked online
# from this machine: it has no web access). Standard table class.
PRICES = {
    "date": "2024-11-01 (us-east-1, on-demand, Standard table class)",
    "write_request_unit": 0.625 / 1_000_000,
    "read_request_unit": 0.125 / 1_000_000,
    "ddb_storage_gb_month": 0.25,
    "s3_storage_gb_month": 0.023,
    "s3_put_per_1000": 0.005,
    "s3_get_per_1000": 0.0004,
}


@dataclass
class Row:
    endpoint: str
    status: int
    calls: int
    reads: float
    writes: float
    operations: list[str]


def measure() -> tuple[list[Row], dict[str, Any]]:
    rows: list[Row] = []
    with dynamodb_local() as endpoint, tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            environment="development",
            aws_dynamodb_endpoint=endpoint,
            dermalens_data_dir=Path(data_dir),
            secret_key=SECRET,
            log_level="WARNING",
            # Capacity comes from ReturnConsumedCapacity, which the lean authentication read
            # does not ask for; its GetItem costs the same units either way.
            dynamodb_lean_reads=False,
        )
        with TestClient(create_app(settings)) as client:
            container = client.app.state.container  # type: ignore[attr-defined]
            ddb = container.dynamodb
            state: dict[str, Any] = {}

            # Polls for `completed` go through a client of their own, so they are not counted.
            poller = build_dynamodb_client(settings)
            scans_table = settings.table_names["scans"]

            def run(name: str, call: Callable[[], Any], *, until: Callable[[], str] | None = None) -> Any:
                with DynamoDBCalls(ddb, capacity=True) as counted:
                    response = call()
                    deadline = time.monotonic() + 60
                    while until is not None and not finished(until()) and time.monotonic() < deadline:
                        time.sleep(0.005)
                calls = list(counted.calls)
                reads = sum(u for op, u in calls if op in READ_OPERATIONS)
                writes = sum(u for op, u in calls if op not in READ_OPERATIONS)
                rows.append(
                    Row(name, response.status_code, len(calls), reads, writes, [op for op, _ in calls])
                )
                return response

            def finished(scan_id: str) -> bool:
                key = {"user_id": {"S": state["user_id"]}, "scan_id": {"S": scan_id}}
                item = poller.get_item(TableName=scans_table, Key=key, ConsistentRead=True).get("Item", {})
                return item.get("status", {}).get("S") in {"completed", "failed"}

            email = "cost@example.com"
            registered = run(
                "POST /auth/register",
                lambda: client.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD}),
            ).json()
            state["user_id"] = registered["user"]["user_id"]
            tokens = run(
                "POST /auth/login",
                lambda: client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD}),
            ).json()
            tokens = run(
                "POST /auth/refresh",
                lambda: client.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}),
            ).json()
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            run("GET /auth/me", lambda: client.get(f"{API}/auth/me", headers=headers))
            run(
                "PATCH /auth/me",
                lambda: client.patch(f"{API}/auth/me", headers=headers, json={"full_name": "Ada"}),
            )
            photo = build_jpeg(size=(866, 1155), noise=4.0)
            files = {"front": ("face.jpg", photo, "image/jpeg")}
            first = client.post(f"{API}/scans/upload", headers=headers, files=files).json()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if (
                    client.get(f"{API}/scans/{first['scan_id']}", headers=headers).json()["status"]
                    == "completed"
                ):
                    break
                time.sleep(0.05)
            run("POST /plans", lambda: client.post(f"{API}/plans", headers=headers, json={}))

            def upload() -> Any:
                response = client.post(f"{API}/scans/upload", headers=headers, files=files)
                state["scan_id"] = response.json()["scan_id"]
                return response

            # The measured upload is the second scan: there is a previous scan and a plan.
            run("POST /scans/upload (+ worker to completed)", upload, until=lambda: state["scan_id"])
            created = run(
                "POST /scans (upload targets)",
                lambda: client.post(f"{API}/scans", headers=headers, json={"angles": ["front"]}),
            ).json()
            target = created["uploads"][0]
            run(
                "PUT signed storage upload",
                lambda: client.put(target["url"], content=photo, headers=target["headers"]),
            )
            state["scan_id"] = created["scan_id"]
            run(
                "POST /scans/{id}/submit (+ worker to completed)",
                lambda: client.post(f"{API}/scans/{created['scan_id']}/submit", headers=headers),
                until=lambda: created["scan_id"],
            )
            scan_id = created["scan_id"]
            run("GET /scans/{id}", lambda: client.get(f"{API}/scans/{scan_id}", headers=headers))
            run("GET /scans?limit=20", lambda: client.get(f"{API}/scans?limit=20", headers=headers))
            run(
                "GET /scans/{id}/overlay",
                lambda: client.get(f"{API}/scans/{scan_id}/overlay", headers=headers),
            )
            run("GET /progress", lambda: client.get(f"{API}/progress", headers=headers))
            plan = run("GET /plans/active", lambda: client.get(f"{API}/plans/active", headers=headers)).json()
            plan_id = plan["plan_id"]
            run("GET /plans", lambda: client.get(f"{API}/plans", headers=headers))
            run("GET /plans/{id}", lambda: client.get(f"{API}/plans/{plan_id}", headers=headers))
            today = dt.datetime.now(dt.UTC).date().isoformat()
            run(
                "POST /plans/{id}/checkins",
                lambda: client.post(
                    f"{API}/plans/{plan_id}/checkins",
                    headers=headers,
                    json={"date": today, "am_done": True, "pm_done": False},
                ),
            )
            run(
                "GET /plans/{id}/adherence",
                lambda: client.get(f"{API}/plans/{plan_id}/adherence", headers=headers),
            )
            run(
                "PATCH /plans/{id} (pause)",
                lambda: client.patch(f"{API}/plans/{plan_id}", headers=headers, json={"status": "paused"}),
            )
            turn = run(
                "POST /chat/messages (new session)",
                lambda: client.post(
                    f"{API}/chat/messages", headers=headers, json={"content": "What helps acne?"}
                ),
            ).json()
            session_id = turn["session_id"]
            run(
                "POST /chat/messages (existing session)",
                lambda: client.post(
                    f"{API}/chat/messages",
                    headers=headers,
                    json={"content": "And at night?", "session_id": session_id},
                ),
            )
            run("GET /chat/sessions", lambda: client.get(f"{API}/chat/sessions", headers=headers))
            run(
                "GET /chat/sessions/{id}/messages",
                lambda: client.get(f"{API}/chat/sessions/{session_id}/messages", headers=headers),
            )
            run("GET /ingredients?q=", lambda: client.get(f"{API}/ingredients?q=retinol", headers=headers))
            run(
                "POST /ingredients/check",
                lambda: client.post(
                    f"{API}/ingredients/check",
                    headers=headers,
                    json={"ingredients": ["retinol", "glycolic acid"]},
                ),
            )
            run("GET /auth/me/export", lambda: client.get(f"{API}/auth/me/export", headers=headers))
            run(
                "DELETE /chat/sessions/{id}",
                lambda: client.delete(f"{API}/chat/sessions/{session_id}", headers=headers),
            )
            run("GET /health/ready", lambda: client.get("/health/ready"))
            run(
                "POST /auth/logout",
                lambda: client.post(f"{API}/auth/logout", json={"refresh_token": tokens["refresh_token"]}),
            )
            extra = {"stored_item_bytes": stored_bytes(ddb, container, state["user_id"])}
    return rows, extra


def stored_bytes(ddb: Any, container: Any, user_id: str) -> dict[str, int]:
    """Approximate DynamoDB item bytes of one user per table (names + values, as DynamoDB sizes them)."""
    sizes: dict[str, int] = {}
    for logical, table in container.settings.table_names.items():
        total = 0
        for page in ddb.get_paginator("query").paginate(
            TableName=table,
            KeyConditionExpression="user_id = :u",
            ExpressionAttributeValues={":u": {"S": user_id}},
        ):
            for item in page["Items"]:
                total += len(json.dumps(item, separators=(",", ":")))
        sizes[logical] = total
    return sizes


# The usage model of one active user for a 30-day month.
USAGE = {
    "POST /auth/login": 60,  # 2 sign-ins a day
    "POST /auth/refresh": 120,  # 4 token refreshes a day (the access token lives 15-30 min in use)
    "GET /auth/me": 120,  # every app open
    "GET /plans/active": 120,
    "GET /scans?limit=20": 60,
    "GET /progress": 30,
    "POST /plans/{id}/checkins": 30,  # daily check-ins
    "POST /scans/upload (+ worker to completed)": 4.3,  # 1 scan a week
    "GET /scans/{id}": 13,  # ~3 polls per scan
    "GET /scans/{id}/overlay": 4.3,
    "POST /plans": 1.1,  # one plan per 28-day lock
    "POST /chat/messages (existing session)": 86,  # 20 messages a week
    "GET /chat/sessions": 17,
    "GET /chat/sessions/{id}/messages": 17,
}


def monthly_cost(rows: list[Row], extra: dict[str, Any]) -> list[str]:
    by_name = {row.endpoint: row for row in rows}
    reads = sum(by_name[name].reads * count for name, count in USAGE.items())
    writes = sum(by_name[name].writes * count for name, count in USAGE.items())
    request_cost = reads * PRICES["read_request_unit"] + writes * PRICES["write_request_unit"]
    stored = extra["stored_item_bytes"]
    # After a year of use: 52 scans, ~1040 chat messages; the user item and plans stay small.
    per_scan = stored.get("scans", 0) / 3  # three scans were stored above
    per_message = stored.get("chat", 0) / 4 if stored.get("chat") else 1000
    year_bytes = stored.get("users", 0) + stored.get("plans", 0) + 52 * per_scan + 1040 * per_message
    ddb_storage = year_bytes / 1e9 * PRICES["ddb_storage_gb_month"]
    photo = 2.5e6  # a 12 MP phone JPEG stored as sent (metadata stripped); plus a ≈0.6 MB overlay
    s3_year = 52 * (photo + 0.6e6)
    s3_storage = s3_year / 1e9 * PRICES["s3_storage_gb_month"]
    s3_requests = 4.3 * 3 * PRICES["s3_put_per_1000"] / 1000 + 4.3 * 4 * PRICES["s3_get_per_1000"] / 1000
    total = request_cost + ddb_storage + s3_storage + s3_requests
    return [
        "| usage model (one active user, 30 days) | count |",
        "|---|---:|",
        *(f"| {name} | {count:g} |" for name, count in USAGE.items()),
        "",
        f"Prices: {PRICES['date']}: ${PRICES['write_request_unit'] * 1e6:.3f} per million write request "
        f"units, ${PRICES['read_request_unit'] * 1e6:.3f} per million read request units, "
        f"${PRICES['ddb_storage_gb_month']}/GB-month DynamoDB storage, S3 Standard "
        f"${PRICES['s3_storage_gb_month']}/GB-month, ${PRICES['s3_put_per_1000']} per 1,000 PUT and "
        f"${PRICES['s3_get_per_1000']} per 1,000 GET.",
        "",
        "| monthly cost per active user | USD |",
        "|---|---:|",
        f"| DynamoDB requests ({reads:.0f} RRU + {writes:.0f} WRU) | {request_cost:.5f} |",
        f"| DynamoDB storage after a year ({year_bytes / 1e6:.2f} MB) | {ddb_storage:.5f} |",
        f"| S3 photo + overlay storage after a year ({s3_year / 1e6:.0f} MB) | {s3_storage:.5f} |",
        f"| S3 requests | {s3_requests:.6f} |",
        f"| **total** | **{total:.4f}** |",
    ]


def table(rows: list[Row]) -> list[str]:
    lines = [
        "| endpoint | status | DynamoDB calls | read units | write units | calls |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        ops = ", ".join(row.operations)
        lines.append(
            f"| {row.endpoint} | {row.status} | {row.calls} | {row.reads:g} | {row.writes:g} | {ops} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows, extra = measure()
    if args.json:
        args.json.write_text(json.dumps({"rows": [r.__dict__ for r in rows], **extra}, indent=2))
    print("\n".join([f"Machine: {machine()}", "", *table(rows), "", *monthly_cost(rows, extra)]))


if __name__ == "__main__":
    main()
