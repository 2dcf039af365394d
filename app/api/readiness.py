"""Readiness: can this process serve a user right now?"""

import threading
import time
from typing import TYPE_CHECKING, Any

from app.db.dynamodb import tables_ready

if TYPE_CHECKING:
    from app.bootstrap import Container


class TableCheckCache:
    """Remembers the table check for a few seconds: probes come often and each check costs
    one DescribeTable per table."""

    def __init__(self, ttl_seconds: float = 5.0) -> None:
        self.ttl_seconds = ttl_seconds
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._tables: dict[str, bool] = {}

    def tables(self, client: Any, settings: Any) -> dict[str, bool]:
        """Each table → ACTIVE; a cached answer is only reused while every table was ready."""
        with self._lock:
            fresh = time.monotonic() - self._checked_at < self.ttl_seconds
            if fresh and all(self._tables.values()):
                return dict(self._tables)
            self._tables = tables_ready(client, settings)
            self._checked_at = time.monotonic()
            return dict(self._tables)


def readiness(container: "Container") -> dict[str, Any]:
    """Checks DynamoDB (every table ACTIVE) and storage; never raises."""
    checks: dict[str, Any] = {}
    try:
        tables = container.table_check.tables(container.dynamodb, container.settings)
        checks["dynamodb"] = {"ok": all(tables.values()), "tables": tables}
    except Exception as exc:  # noqa: BLE001 - readiness reports, it does not fail
        checks["dynamodb"] = {"ok": False, "error": type(exc).__name__}
    try:
        container.storage.check()
        checks["storage"] = {"ok": True, "backend": container.storage.name}
    except Exception as exc:  # noqa: BLE001
        checks["storage"] = {"ok": False, "backend": container.storage.name, "error": type(exc).__name__}
    ready = all(check["ok"] for check in checks.values())
    return {"status": "ready" if ready else "not_ready", "checks": checks}
