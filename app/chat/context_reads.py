"""The chat context's scan and plan in one BatchGetItem, by the pointers on the user item.

The user item (already read by auth) names the newest completed scan and the newest plan
(`app.db.guards.SCAN_POINTER`, `PLAN_POINTER`). A pointer that is unknown (an account from
before the pointers) or names a scan that is gone falls back to the query the repositories
always used, and the pointer is filled in for next time.
"""

from collections.abc import Callable
from typing import Any

from app.core.errors import DependencyUnavailableError
from app.db.dynamodb import from_item
from app.db.guards import NO_POINTER
from app.db.keys import plan_key, scan_key
from app.db.repository import call_dynamodb
from app.plans.models import PlanRecord
from app.scans.repository import ScanRecord

_BATCH_ATTEMPTS = 5

# (user id, pointer attribute, value, the value it must still hold: None = absent) → None
PointerRepair = Callable[[str, str, str, str | None], None]


class ContextReads:
    """Reads only: the scan and plan items a user's pointers name, in one call."""

    def __init__(self, client: Any, *, scans_table: str, plans_table: str) -> None:
        self._client = client
        self._scans_table = scans_table
        self._plans_table = plans_table

    def scan_and_plan(
        self, *, user_id: str, scan_id: str | None, plan_id: str | None
    ) -> tuple[ScanRecord | None, PlanRecord | None]:
        """The named scan and plan (either id may be None: not read); None for a missing item."""
        request: dict[str, Any] = {}
        if scan_id:
            request[self._scans_table] = {"Keys": [scan_key(user_id, scan_id)], "ConsistentRead": True}
        if plan_id:
            request[self._plans_table] = {"Keys": [plan_key(user_id, plan_id)], "ConsistentRead": True}
        found: dict[str, dict[str, Any]] = {}
        for _ in range(_BATCH_ATTEMPTS):
            if not request:
                break
            result = call_dynamodb(self._client.batch_get_item, RequestItems=request)
            for table, items in result.get("Responses", {}).items():
                for item in items:
                    found[table] = from_item(item)
            request = result.get("UnprocessedKeys") or {}
        else:
            raise DependencyUnavailableError("The database is busy; try again shortly.")
        scan = found.get(self._scans_table)
        plan = found.get(self._plans_table)
        return (
            ScanRecord.model_validate(scan) if scan else None,
            PlanRecord.model_validate(plan) if plan else None,
        )


def pointer_id(value: str | None) -> str | None:
    """The id a pointer names (None for "none" and for unknown)."""
    return value if value and value != NO_POINTER else None
