"""How two workers split the connections: uvicorn's shared socket against a socket per worker.

`python bench/worker_sockets.py [--rounds 4] [--points 6] [--seconds 3] [--concurrency 16]`:
on one DynamoDB Local, each round serves DermaLens with two workers once through
`uvicorn.run(workers=2)` (one listening socket shared by the workers: the launch before
session 6) and once through `app.serve` (one SO_REUSEPORT socket per worker: what ships),
the order alternating between rounds. Each point opens `--concurrency` fresh keep-alive
connections and drives GET /auth/me closed-loop over them; per point: throughput, its ratio
to a raw boto3 GetItem at the same concurrency measured in the same round, and the busiest
process's part of the server's CPU (0.5: an even split; 1.0: one process took every
connection). A point is "one-sided" at ≥ 0.95.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api_load import _dynamodb
from bench.stack import Server, app_env, dynamodb_local, get_as_each, machine, register, run_load, run_threads

LAUNCHERS = ("uvicorn", "app.serve")


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    points: list[dict[str, Any]] = []
    with dynamodb_local() as endpoint, tempfile.TemporaryDirectory() as tmp:
        dynamodb = _dynamodb(endpoint, pool=args.concurrency + 4)
        for round_ in range(args.rounds):
            order = LAUNCHERS if round_ % 2 == 0 else LAUNCHERS[::-1]
            for launcher in order:
                env = app_env(endpoint, Path(tmp) / "app", BENCH_LAUNCHER=launcher)
                with Server("app.main:app", env, log=Path(tmp) / "server.log", workers=2) as app:
                    with httpx.Client(timeout=60) as http:
                        users = [register(app.url, http) for _ in range(16)]
                    key = {"user_id": {"S": users[0].user_id}}
                    reference = run_threads(
                        lambda k=key: dynamodb.get_item(
                            TableName="dermalens-users", Key=k, ConsistentRead=True
                        ),
                        concurrency=args.concurrency,
                        seconds=args.seconds,
                    ).throughput
                    for point in range(args.points):
                        result = run_load(
                            app.url,
                            get_as_each(users),
                            concurrency=args.concurrency,
                            seconds=args.seconds,
                            server=app,
                        )
                        row = {
                            "round": round_,
                            "launcher": launcher,
                            "point": point,
                            "rps": round(result.throughput, 1),
                            "getitem_rps": round(reference, 1),
                            "ratio": round(result.throughput / reference, 2),
                            "busiest_share": round(result.busiest_share or 0.0, 2),
                            "cpu_ms": round(result.cpu_ms_per_request, 2),
                            "load": round(os.getloadavg()[0], 1),
                            "statuses": result.statuses,
                        }
                        points.append(row)
                        print(json.dumps(row), file=sys.stderr, flush=True)
    return points


def table(points: list[dict[str, Any]], *, header: str) -> str:
    lines = [
        header,
        "",
        "| launcher | points | one-sided (busiest ≥ 0.95) | busiest part: median (range) "
        "| ÷ GetItem: median (range) | one-sided points' ratios | req/s median | load average |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for launcher in LAUNCHERS:
        rows = [p for p in points if p["launcher"] == launcher]
        if not rows:
            continue
        share = [p["busiest_share"] for p in rows]
        ratio = [p["ratio"] for p in rows]
        one_sided = [p["ratio"] for p in rows if p["busiest_share"] >= 0.95]
        loads = [p["load"] for p in rows]
        lines.append(
            f"| {launcher} | {len(rows)} | {len(one_sided)} | {statistics.median(share):.2f} "
            f"({min(share):.2f}-{max(share):.2f}) | {statistics.median(ratio):.2f} ({min(ratio):.2f}-{max(ratio):.2f}) "
            f"| {', '.join(f'{r:.2f}' for r in one_sided) or '-'} | {statistics.median(p['rps'] for p in rows):.0f} "
            f"| {min(loads):.1f}-{max(loads):.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--points", type=int, default=6, help="points per launcher and round")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", type=Path, help="also write every point here")
    args = parser.parse_args()
    header = (
        f"Machine: {machine()}; GET /auth/me, 2 workers, concurrency {args.concurrency}, {args.seconds} s per "
        f"point, {args.points} points per launcher in each of {args.rounds} rounds (order alternating)."
    )
    points = measure(args)
    if args.json:
        args.json.write_text(json.dumps(points, indent=1))
    print(table(points, header=header))


if __name__ == "__main__":
    main()
