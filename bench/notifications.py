"""Reminder scheduler and statistics cost on DynamoDB Local: time and DynamoDB calls.

    .venv/bin/python -m bench.notifications [users]

Makes `users` users with an active plan and the same AM reminder minute, then runs that
minute with two schedulers at once (as two instances would), and reads one user's statistics.
"""

import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from app.bootstrap import build_container
from app.core.config import Settings
from app.db.dynamodb import build_dynamodb_client, ensure_tables
from app.db.local_dynamodb import DynamoDBLocal, free_port
from app.notifications.schedule import local_instant
from app.plans.models import PlanSlot
from app.preferences.models import Preferences
from tests.factories import plan_record, scan_record, user_record


class CountingClient:
    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def counted(**kwargs: Any) -> Any:
            with self._lock:
                self.calls[name] += 1
            return method(**kwargs)

        return counted


def main(users: int) -> None:
    with DynamoDBLocal(port=free_port()) as local, tempfile.TemporaryDirectory() as data:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            environment="test",
            aws_dynamodb_endpoint=local.endpoint,
            dermalens_data_dir=Path(data),
            secret_key="bench-secret-key-that-is-long-enough-0123456789",
            notification_scheduler_seconds=0,
        )
        raw = build_dynamodb_client(settings)
        ensure_tables(raw, settings)
        counting = CountingClient(raw)
        setup = build_container(settings, dynamodb_client=raw)
        day = datetime.now(UTC).date()
        for _ in range(users):
            user = user_record()
            setup.users.create(user=user)
            plan = plan_record(user_id=user.user_id, start_date=(day - timedelta(days=2)).isoformat())
            setup.plans_repo.create(plan=plan, slot=PlanSlot(), previous=None, previous_status=None)
            setup.scans_repo.create(scan=scan_record(user_id=user.user_id, status="completed"))
            setup.preferences.replace(user=user, preferences=Preferences(am_reminder_time="03:07"))
        one = build_container(settings, dynamodb_client=counting)
        two = build_container(settings, dynamodb_client=counting)
        minute = local_instant(day, "03:07", ZoneInfo("UTC"))
        made: list[int] = []
        started = time.perf_counter()
        threads = [
            threading.Thread(target=lambda c=c: made.append(c.scheduler.run_minute(minute)))
            for c in (one, two)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        calls = dict(counting.calls)
        print(f"users due in one minute: {users}; notifications made: {sum(made)} (by instance: {made})")
        print(f"both schedulers, that minute: {elapsed:.2f} s; DynamoDB calls {sum(calls.values())}: {calls}")
        counting.calls.clear()
        started = time.perf_counter()
        one.statistics.for_user(user=user)
        print(
            f"statistics: {1000 * (time.perf_counter() - started):.1f} ms, DynamoDB calls: {dict(counting.calls)}"
        )
        counting.calls.clear()
        started = time.perf_counter()
        one.scheduler.run_minute(minute + timedelta(minutes=1))
        print(
            f"an empty minute: {1000 * (time.perf_counter() - started):.1f} ms, calls: {dict(counting.calls)}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
