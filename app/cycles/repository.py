"""Records table: the user's period logs and the `cycle#slot` version that serialises their writes.

Every write (log, edit, delete) is one transaction: the slot moves from the version the
service read to the next one, the period item is put or deleted, and the user must still
exist. Two concurrent writes therefore cannot both pass the service's overlap check: the
second finds the slot moved and is told to read again.
"""

from typing import Any

from app.cycles.models import CycleSlot, PeriodRecord
from app.db.dynamodb import from_item, to_attr, to_item
from app.db.guards import TRACK_CYCLES, UserGoneError, refused_by_user_check, transact, user_alive_tracking
from app.db.keys import CYCLE_SLOT_SK, PERIOD_PREFIX, period_sk, record_key
from app.db.repository import Repository

__all__ = ["CyclesRepository", "SlotMoved"]


class SlotMoved(Exception):  # noqa: N818
    """Another period write landed since the logs were read."""


class CyclesRepository(Repository):
    def periods(self, *, user_id: str) -> list[PeriodRecord]:
        """Every period log of the user, oldest start first (strongly consistent)."""
        items = self._query_prefix(user_id=user_id, prefix=PERIOD_PREFIX, ConsistentRead=True)
        return [PeriodRecord.model_validate(item) for item in items]

    def slot(self, *, user_id: str) -> CycleSlot:
        result = self._call("get_item", Key=record_key(user_id, CYCLE_SLOT_SK), ConsistentRead=True)
        item = result.get("Item")
        return CycleSlot.model_validate(from_item(item)) if item else CycleSlot()

    def page(self, *, user_id: str, limit: int, cursor: str | None) -> tuple[list[PeriodRecord], str | None]:
        """Newest start first."""
        items, next_cursor = self._query_prefix_page(
            user_id=user_id, prefix=PERIOD_PREFIX, limit=limit, cursor=cursor
        )
        return [PeriodRecord.model_validate(item) for item in items], next_cursor

    def write(
        self,
        *,
        user_id: str,
        version: int,
        put: PeriodRecord | None = None,
        delete: PeriodRecord | None = None,
    ) -> None:
        """Put and/or delete a log and bump the slot from `version`, all or nothing.

        SlotMoved when another write came first; UserGoneError when the user is gone.
        """
        slot: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": to_item({"user_id": user_id, "sk": CYCLE_SLOT_SK, "version": version + 1}),
        }
        if version == 0:
            slot["ConditionExpression"] = "attribute_not_exists(sk)"
        else:
            slot["ConditionExpression"] = "version = :v"
            slot["ExpressionAttributeValues"] = {":v": to_attr(version)}
        actions: list[dict[str, Any]] = [{"Put": slot}]
        new_sk = period_sk(put.start_date, put.period_id) if put else None
        if delete is not None and period_sk(delete.start_date, delete.period_id) != new_sk:
            key = record_key(user_id, period_sk(delete.start_date, delete.period_id))
            actions.append({"Delete": {"TableName": self.table_name, "Key": key}})
        if put is not None:
            item = {"user_id": user_id, "sk": new_sk, **put.model_dump(mode="json", exclude={"user_id"})}
            actions.append({"Put": {"TableName": self.table_name, "Item": to_item(item)}})
        # The user check also marks the user as tracking cycles (the chat context reads it).
        actions.extend(
            user_alive_tracking(users_table=self.users_table, user_id=user_id, feature=TRACK_CYCLES)
        )
        reasons = transact(self._call, actions=actions)
        if reasons is None:
            return
        if refused_by_user_check(actions=actions, reasons=reasons):
            raise UserGoneError()
        raise SlotMoved()

    def delete_all(self, *, user_id: str) -> int:
        """Every period log and the slot (account deletion); safe to repeat."""
        logs = self.periods(user_id=user_id)
        keys = [record_key(user_id, period_sk(p.start_date, p.period_id)) for p in logs]
        self._delete_keys([*keys, record_key(user_id, CYCLE_SLOT_SK)])
        return len(logs)
