"""What uvicorn's event loop and HTTP parser buy: GET /auth/me served four ways, same run.

`python bench/server_options.py [--seconds 3] [--concurrency 16]`: asyncio or uvloop x
h11 or httptools, one uvicorn worker each, on one DynamoDB Local; throughput, p99 and the
server's CPU per request (from /proc, so steadier than wall time on a shared machine).
"""

import argparse
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import Server, app_env, dynamodb_local, get_as_each, machine, register, run_load

OPTIONS = (("asyncio", "h11"), ("asyncio", "httptools"), ("uvloop", "h11"), ("uvloop", "httptools"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    lines = [
        f"Machine: {machine()}; GET /auth/me at concurrency {args.concurrency}, {args.seconds} s each.",
        "",
        "| loop | HTTP parser | req/s | p99 ms | server CPU ms/req |",
        "|---|---|---:|---:|---:|",
    ]
    with dynamodb_local() as endpoint, tempfile.TemporaryDirectory() as tmp:
        for loop, http in OPTIONS:
            env = app_env(endpoint, Path(tmp) / "app", BENCH_LOOP=loop, BENCH_HTTP=http)
            with Server("app.main:app", env, log=Path(tmp) / "server.log") as app:
                with httpx.Client(timeout=60) as client:
                    users = [register(app.url, client) for _ in range(8)]
                result = run_load(
                    app.url,
                    get_as_each(users),
                    concurrency=args.concurrency,
                    seconds=args.seconds,
                    server=app,
                )
            lines.append(
                f"| {loop} | {http} | {result.throughput:.0f} | {1000 * result.percentile(99):.1f} "
                f"| {result.cpu_ms_per_request:.2f} |"
            )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
