"""API throughput and latency against two references measured in the same run.

Serves DermaLens (local providers) on a fresh in-memory DynamoDB Local in its own process,
seeds users with a real analysed scan (plus older copies, so a 20-scan page is full) and a
plan, then drives each endpoint closed-loop at concurrency 1, 16 and 64:

- GET /auth/me, GET /scans?limit=20, GET /plans/active, GET /progress (requests spread over
  the seeded users), POST /chat/messages (local assistant, spread over users), POST /auth/login
  (users of their own, so their sessions do not crowd out the readers');
- references: the same bare FastAPI endpoint served the same way (`bench/bare_app.py`), and a
  raw boto3 GetItem of a user item on the same DynamoDB Local (one thread per client).

Each endpoint's throughput is divided by min(bare, GetItem) at the same concurrency; the
server's CPU per request comes from /proc. Then `/auth/me` p99 while logins run at
concurrency 16, divided by its p99 when idle.

With two or more workers the table also gives the busiest worker's part of the server CPU
at each point (0.5: an even split; 1.0: one process took every connection).

Usage: .venv/bin/python bench/api_load.py [--seconds 3] [--users 32] [--concurrency 1 16 64]
       [--launcher app.serve|uvicorn] [--reads-only] [--json OUT]
       DYNAMODB_LEAN_READS=false ... serves the app without the lean authentication read.
       --launcher uvicorn: uvicorn's own workers on one shared socket (the launch before
       session 6), to compare with app.serve's socket per worker.
       BENCH_PROFILE=/tmp/profile.txt ... writes the server's sampled hot frames there.
"""

import argparse
import asyncio
import itertools
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.core.config import Settings
from bench.stack import (
    PASSWORD,
    Request,
    Result,
    SeededUser,
    Server,
    app_env,
    copy_scans,
    dynamodb_local,
    get_as_each,
    json_request,
    machine,
    register,
    run_load,
    run_threads,
    seed_scan_and_plan,
)
from bench.vision import build_jpeg

CONCURRENCY = (1, 16, 64)
READS = {
    "GET /auth/me": "/api/v1/auth/me",
    "GET /scans?limit=20": "/api/v1/scans?limit=20",
    "GET /plans/active": "/api/v1/plans/active",
    "GET /progress": "/api/v1/progress",
}
CHAT_QUESTIONS = (
    "What should I put on my skin tonight?",
    "Is niacinamide fine with my plan?",
    "How is my redness doing?",
    "Can I use retinol with my routine?",
)


def _dynamodb(endpoint: str, pool: int) -> Any:
    return boto3.session.Session().client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(max_pool_connections=pool, retries={"mode": "standard", "max_attempts": 2}),
    )


def seed(base: str, dynamodb: Any, *, readers: int, logins: int) -> tuple[list[SeededUser], list[SeededUser]]:
    photo = build_jpeg(size=(866, 1155), noise=4.0)
    with httpx.Client(timeout=120) as http:
        users = [register(base, http) for _ in range(readers)]
        for user in users:
            scan = seed_scan_and_plan(base, http, user, photo)
            copy_scans(
                dynamodb, table="dermalens-scans", user_id=user.user_id, scan_id=scan["scan_id"], copies=19
            )
        login_users = [register(base, http) for _ in range(logins)]
    return users, login_users


def _row(name: str, concurrency: int, result: Result, reference: float | None) -> dict[str, Any]:
    return {
        "endpoint": name,
        "concurrency": concurrency,
        "rps": round(result.throughput, 1),
        "p50_ms": round(1000 * result.percentile(50), 1),
        "p95_ms": round(1000 * result.percentile(95), 1),
        "p99_ms": round(1000 * result.percentile(99), 1),
        "cpu_ms": round(result.cpu_ms_per_request, 2) if result.cpu_seconds else None,
        "ratio": round(result.throughput / reference, 2) if reference else None,
        "busiest_share": round(result.busiest_share, 2) if result.busiest_share is not None else None,
        "statuses": dict(sorted(result.statuses.items())),
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    with dynamodb_local() as endpoint, tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        log = data / "server.log"
        env = app_env(endpoint, data / "app", CHAT_MESSAGES_PER_MINUTE="100000", BENCH_LAUNCHER=args.launcher)
        dynamodb = _dynamodb(endpoint, pool=max(args.concurrency) + 4)
        references: dict[int, float] = {}
        with Server("bench.bare_app:app", env, log=log) as bare:
            bare_results = {
                c: run_load(
                    bare.url,
                    lambda _: Request("GET", "/ping"),
                    concurrency=c,
                    seconds=args.seconds,
                    server=bare,
                )
                for c in args.concurrency
            }
        with Server("app.main:app", env, log=log, workers=args.workers) as app:
            users, login_users = seed(app.url, dynamodb, readers=args.users, logins=args.users)
            key = {"user_id": {"S": users[0].user_id}}
            getitem_results = {
                c: run_threads(
                    lambda: dynamodb.get_item(TableName="dermalens-users", Key=key, ConsistentRead=True),
                    concurrency=c,
                    seconds=args.seconds,
                )
                for c in args.concurrency
            }
            for c in args.concurrency:
                references[c] = min(bare_results[c].throughput, getitem_results[c].throughput)
                rows.append(_row("bare FastAPI GET /ping", c, bare_results[c], None))
                rows.append(_row("raw boto3 GetItem", c, getitem_results[c], None))
            for name, path in READS.items():
                for c in args.concurrency:
                    result = run_load(
                        app.url,
                        get_as_each(users, path),
                        concurrency=c,
                        seconds=args.seconds,
                        server=app,
                    )
                    rows.append(_row(name, c, result, references[c]))
            if args.reads_only:
                return _report(args, rows, {})
            for c in args.concurrency:
                result = run_load(
                    app.url,
                    lambda i: json_request(
                        "POST",
                        "/api/v1/chat/messages",
                        {"content": CHAT_QUESTIONS[i % len(CHAT_QUESTIONS)]},
                        users[i % len(users)].headers,
                    ),
                    concurrency=c,
                    seconds=args.seconds,
                    server=app,
                )
                rows.append(_row("POST /chat/messages", c, result, references[c]))
            for c in args.concurrency:
                result = run_load(
                    app.url,
                    lambda i: json_request(
                        "POST",
                        "/api/v1/auth/login",
                        {"email": login_users[i % len(login_users)].email, "password": PASSWORD},
                    ),
                    concurrency=c,
                    seconds=args.seconds,
                    server=app,
                )
                rows.append(_row("POST /auth/login", c, result, references[c]))
            interference = me_under_logins(app, users, login_users, seconds=max(args.seconds, 4.0))
    return _report(args, rows, interference)


def _report(
    args: argparse.Namespace, rows: list[dict[str, Any]], interference: dict[str, Any]
) -> dict[str, Any]:
    return {
        "machine": machine(),
        "seconds": args.seconds,
        "workers": args.workers,
        "launcher": args.launcher,
        "lean_reads": os.environ.get("DYNAMODB_LEAN_READS", "true"),
        "rows": rows,
        **interference,
    }


def me_under_logins(
    app: Server, users: list[SeededUser], login_users: list[SeededUser], *, seconds: float
) -> dict[str, Any]:
    """/auth/me p99 at concurrency 4 alone, then with 16 concurrent sign-ins running beside it."""

    me = get_as_each(users)
    idle = run_load(app.url, me, concurrency=4, seconds=seconds)
    stop = threading.Event()
    login_statuses: dict[int, int] = {}

    def logins() -> None:
        async def one(worker: int) -> None:
            async with httpx.AsyncClient(base_url=app.url, timeout=60) as http:
                for n in itertools.count(worker, 16):
                    if stop.is_set():
                        return
                    user = login_users[n % len(login_users)]
                    response = await http.post(
                        "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}
                    )
                    login_statuses[response.status_code] = login_statuses.get(response.status_code, 0) + 1

        async def all_of_them() -> None:
            await asyncio.gather(*(one(w) for w in range(16)))

        asyncio.run(all_of_them())

    background = threading.Thread(target=logins)
    background.start()
    time.sleep(1.0)  # let the sign-ins queue up first
    try:
        busy = run_load(app.url, me, concurrency=4, seconds=seconds)
    finally:
        stop.set()
        background.join()
    return {
        "me_idle_p99_ms": round(1000 * idle.percentile(99), 1),
        "me_busy_p99_ms": round(1000 * busy.percentile(99), 1),
        "me_busy_rps": round(busy.throughput, 1),
        "me_p99_ratio": round(busy.percentile(99) / idle.percentile(99), 1),
        "login_statuses": dict(sorted(login_statuses.items())),
        "me_busy_statuses": dict(sorted(busy.statuses.items())),
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        f"Machine: {report['machine']}; {report['seconds']} s per point, {report['workers']} uvicorn worker(s) "
        f"({report['launcher']}).",
        "",
        "| endpoint | conc. | req/s | p50 ms | p95 ms | p99 ms | server CPU ms/req | busiest process's CPU part "
        "| ÷ min(bare, GetItem) | statuses |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else "(reference)"
        cpu = f"{row['cpu_ms']:.2f}" if row["cpu_ms"] is not None else "-"
        busiest = f"{row['busiest_share']:.2f}" if row.get("busiest_share") is not None else "-"
        statuses = " ".join(f"{k}x{v}" for k, v in row["statuses"].items())
        lines.append(
            f"| {row['endpoint']} | {row['concurrency']} | {row['rps']:.0f} | {row['p50_ms']} | {row['p95_ms']} "
            f"| {row['p99_ms']} | {cpu} | {busiest} | {ratio} | {statuses} |"
        )
    if "me_p99_ratio" not in report:  # --reads-only
        return "\n".join(lines)
    lines += [
        "",
        f"`GET /auth/me` p99 at concurrency 4: idle {report['me_idle_p99_ms']} ms, with 16 concurrent sign-ins "
        f"{report['me_busy_p99_ms']} ms: **x{report['me_p99_ratio']}** (target ≤ x3); "
        f"sign-in statuses {report['login_statuses']}, /auth/me statuses {report['me_busy_statuses']}.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per point")
    parser.add_argument("--users", type=int, default=32, help="seeded users (readers; as many sign in)")
    parser.add_argument(
        "--workers",
        type=int,
        # As deployed: WEB_CONCURRENCY's default (the systemd unit and `make run` use it too).
        default=int(os.environ.get("BENCH_WORKERS", Settings.model_fields["web_concurrency"].default)),
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        nargs="+",
        default=list(CONCURRENCY),
        help="client counts (default: 1 16 64)",
    )
    parser.add_argument(
        "--launcher",
        choices=("app.serve", "uvicorn"),
        default="app.serve",
        help="app.serve: a socket per worker, as shipped; uvicorn: uvicorn's workers on one shared socket",
    )
    parser.add_argument(
        "--reads-only",
        action="store_true",
        help="only the references and the four reads (no chat, sign-in or interference points)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    args = parser.parse_args()
    report = measure(args)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(table(report))


if __name__ == "__main__":
    main()
