"""Client wall and CPU time of one strongly consistent GetItem: boto3 and its knobs vs the lean read.

A user-sized item (three sessions) on a fresh DynamoDB Local; each variant makes 200 warm-up
calls then `--calls` measured ones, the variants interleaved round after round (load from other
work moves absolute numbers). Medians and ranges over the rounds. The last two rows are timed
from inside a uvloop event loop, as the app's authentication runs: the threaded lean read
through anyio's thread pool (session 8's path) and the lean read on the loop itself.

Usage: .venv/bin/python bench/getitem_client.py [--rounds 7] [--calls 1000]
"""

import argparse
import asyncio
import inspect
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio.to_thread
import boto3
import uvloop
from botocore.config import Config
from botocore.credentials import Credentials

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.db.lean_reads import LeanGetItem
from app.db.wire import install_fast_parsing
from bench.stack import dynamodb_local, machine

TABLE = "users"
KEY = {"user_id": {"S": "U1"}}
ITEM = {
    "user_id": {"S": "U1"},
    "email": {"S": "a@example.com"},
    "password_hash": {"S": "x" * 97},
    "sessions": {
        "M": {
            f"s{i}": {"M": {"created_at": {"S": "2026-12-02T00:00:00Z"}, "refresh": {"S": "y" * 64}}}
            for i in range(3)
        }
    },
    "data_version": {"N": "12"},
    "timezone": {"S": "Europe/Paris"},
}


def _client(endpoint: str, **config: Any) -> Any:
    client = boto3.session.Session().client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"mode": "standard", "total_max_attempts": 3}, **config),
    )
    install_fast_parsing(client)  # as the app's client
    return client


LoopCall = Callable[[], Awaitable[Any]]


def variants(endpoint: str) -> dict[str, Callable[[], Any] | LoopCall]:
    def boto3_call(client: Any) -> Callable[[], Any]:
        return lambda: client.get_item(TableName=TABLE, Key=KEY, ConsistentRead=True)

    lean = LeanGetItem(
        endpoint_url=endpoint,
        region="us-east-1",
        credentials=Credentials("local", "local"),
        connect_timeout=1,
        read_timeout=3,
        pool_size=4,
    )

    async def via_threads() -> Any:
        return await anyio.to_thread.run_sync(lambda: lean.get_item(table_name=TABLE, key=KEY))

    async def on_the_loop() -> Any:
        return await lean.get_item_async(table_name=TABLE, key=KEY)

    return {
        "boto3 as shipped (fast parsing)": boto3_call(_client(endpoint)),
        "+ parameter_validation=False": boto3_call(_client(endpoint, parameter_validation=False)),
        '+ account_id_endpoint_mode="disabled"': boto3_call(
            _client(endpoint, account_id_endpoint_mode="disabled")
        ),
        "both knobs": boto3_call(
            _client(endpoint, parameter_validation=False, account_id_endpoint_mode="disabled")
        ),
        "lean read": lambda: lean.get_item(table_name=TABLE, key=KEY),
        "lean read from the event loop, through the thread pool": via_threads,
        "**lean read on the event loop**": on_the_loop,
    }


def _timed(call: Callable[[], Any] | LoopCall, calls: int, runner: asyncio.Runner) -> tuple[float, float]:
    """(wall, client CPU) ms per call after 200 warm-up calls; an async call is awaited on the loop."""

    def measure(run: Callable[[int], Any]) -> tuple[float, float]:
        run(200)
        started, cpu_started = time.perf_counter(), time.process_time()
        run(calls)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        return wall / calls * 1000, cpu / calls * 1000

    if inspect.iscoroutinefunction(call):

        async def awaited(n: int) -> None:
            for _ in range(n):
                await call()

        return measure(lambda n: runner.run(awaited(n)))

    def called(n: int) -> None:
        for _ in range(n):
            call()

    return measure(called)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    with dynamodb_local() as endpoint:
        setup = _client(endpoint)
        setup.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        setup.put_item(TableName=TABLE, Item=ITEM)
        calls = variants(endpoint)
        wall: dict[str, list[float]] = {name: [] for name in calls}
        cpu: dict[str, list[float]] = {name: [] for name in calls}
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            for _ in range(args.rounds):
                for name, call in calls.items():
                    call_wall, call_cpu = _timed(call, args.calls, runner)
                    wall[name].append(call_wall)
                    cpu[name].append(call_cpu)
    print(f"Machine: {machine()}; {args.rounds} rounds x {args.calls} calls\n")
    print("| client | wall per call, median [range] | client CPU per call, median [range] |")
    print("|---|---|---|")
    for name in calls:
        print(f"| {name} | {_spread(wall[name])} | {_spread(cpu[name])} |")


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ms [{min(values):.2f}-{max(values):.2f}]"


if __name__ == "__main__":
    main()
