"""What the statistics read, in three key reads: the plan slot and preferences (one BatchGetItem),
the user's scans (one Query, projected to what the numbers need) and the current plan (GetItem)."""

from dataclasses import dataclass
from typing import Any

from app.core.errors import DependencyUnavailableError
from app.db.dynamodb import from_item
from app.db.keys import plan_key, plan_slot_key, preferences_key
from app.db.repository import call_dynamodb
from app.plans.models import PlanRecord, PlanSlot
from app.preferences.models import StoredPreferences
from app.scans.models import ScoredScan
from app.scans.repository import ScansRepository


@dataclass(frozen=True)
class StatisticsInputs:
    scans: list[ScoredScan]  # completed scans that passed quality, oldest first
    preferences: StoredPreferences
    plan: PlanRecord | None


class StatisticsRepository:
    """Reads only (no writes): the inputs of every built-in statistics section."""

    def __init__(self, client: Any, *, scans_table: str, plans_table: str, records_table: str) -> None:
        self._client = client
        # The scans domain's own query (a projection of id, date and scores).
        self._scan_reads = ScansRepository(client, scans_table, records_table)
        self._plans_table = plans_table
        self._records_table = records_table

    def load(self, *, user_id: str) -> StatisticsInputs:
        slot, prefs = self._slot_and_preferences(user_id)
        plan = self._plan(user_id, slot.current_plan_id) if slot.current_plan_id else None
        return StatisticsInputs(scans=self._scans(user_id), preferences=prefs, plan=plan)

    def _slot_and_preferences(self, user_id: str) -> tuple[PlanSlot, StoredPreferences]:
        request: dict[str, Any] = {
            self._records_table: {
                "Keys": [plan_slot_key(user_id), preferences_key(user_id)],
                "ConsistentRead": True,
            }
        }
        found: dict[str, dict[str, Any]] = {}
        for _ in range(5):
            result = call_dynamodb(self._client.batch_get_item, RequestItems=request)
            for item in result.get("Responses", {}).get(self._records_table, []):
                data = from_item(item)
                found[str(data["sk"])] = data
            request = result.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise DependencyUnavailableError("The database is busy; try again shortly.")
        slot = found.get(str(plan_slot_key(user_id)["sk"]["S"]))
        prefs = found.get(str(preferences_key(user_id)["sk"]["S"]))
        return (
            PlanSlot.model_validate(slot) if slot else PlanSlot(),
            StoredPreferences.model_validate(prefs) if prefs else StoredPreferences(),
        )

    def _scans(self, user_id: str) -> list[ScoredScan]:
        return self._scan_reads.completed_scores(user_id=user_id)

    def _plan(self, user_id: str, plan_id: str) -> PlanRecord | None:
        result = call_dynamodb(
            self._client.get_item,
            TableName=self._plans_table,
            Key=plan_key(user_id, plan_id),
            ConsistentRead=True,
        )
        item = result.get("Item")
        return PlanRecord.model_validate(from_item(item)) if item else None
