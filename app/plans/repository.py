"""Plans table, plus the per-user plan slot that makes "one current plan" and the lock atomic.

The slot (records table, `sk = "plan#slot"`) names the current plan and the time until
which a new plan is refused. Every plan creation rewrites the slot under a version check,
in the same transaction as the new plan, so concurrent requests create exactly one plan.
A creation is also conditional on the user still existing and not being deleted; the other
writes are conditional on the plan existing, which an account deletion removes after that.
"""

from typing import Any

from app.core.security import iso, utc_now
from app.db.dynamodb import from_item, to_attr, to_item
from app.db.guards import (
    PLAN_POINTER,
    UserGoneError,
    bump_data_version,
    refused_by_user_check,
    transact,
    user_alive_pointer,
)
from app.db.keys import CHECKIN_PATH, PLAN_SLOT_SK, checkin_path_names, plan_key, plan_slot_key
from app.db.repository import (
    ConditionFailed,
    Repository,
    TransactionCancelled,
)
from app.plans.models import CheckIn, PlanRecord, PlanSlot, PlanStatus

__all__ = ["CheckIn", "PlanConflict", "PlanRecord", "PlanSlot", "PlanStatus", "PlansRepository"]


class PlanConflict(Exception):  # noqa: N818
    """The slot changed since it was read (a concurrent creation won)."""


class PlansRepository(Repository):
    def __init__(self, client: Any, table_name: str, records_table: str, users_table: str = "") -> None:
        super().__init__(client, table_name, users_table)
        self.records_table = records_table

    def _bump(self, user_id: str) -> None:
        """After a write without the user in its transaction: the user's data version moves on."""
        bump_data_version(self._call, users_table=self.users_table, user_id=user_id)

    def get_slot(self, *, user_id: str) -> PlanSlot:
        result = self._call(
            "get_item",
            TableName=self.records_table,
            Key=plan_slot_key(user_id),
            ConsistentRead=True,
        )
        item = result.get("Item")
        return PlanSlot.model_validate(from_item(item)) if item else PlanSlot()

    def create(
        self, *, plan: PlanRecord, slot: PlanSlot, previous: PlanRecord | None, previous_status: str | None
    ) -> None:
        """New plan + slot (version-checked) + the previous plan closed, all or nothing.

        PlanConflict if the slot changed since it was read; UserGoneError if the user is gone
        or being deleted.
        """
        new_slot = {
            "user_id": plan.user_id,
            "sk": PLAN_SLOT_SK,
            "current_plan_id": plan.plan_id,
            "lock_until": plan.lock_until,
            "version": slot.version + 1,
        }
        slot_put: dict[str, Any] = {"TableName": self.records_table, "Item": to_item(new_slot)}
        if slot.version == 0:
            slot_put["ConditionExpression"] = "attribute_not_exists(sk)"
        else:
            slot_put["ConditionExpression"] = "version = :v"
            slot_put["ExpressionAttributeValues"] = {":v": to_attr(slot.version)}
        actions: list[dict[str, Any]] = [
            {"Put": slot_put},
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": to_item(plan.model_dump(mode="json")),
                    "ConditionExpression": "attribute_not_exists(plan_id)",
                }
            },
        ]
        if previous is not None and previous_status:
            actions.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": plan_key(previous.user_id, previous.plan_id),
                        "UpdateExpression": "SET #status = :status, replaced_by_plan_id = :new, updated_at = :now, "
                        "ended_at = :now, override_reason = if_not_exists(override_reason, :reason)",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {
                            ":status": to_attr(previous_status),
                            ":new": to_attr(plan.plan_id),
                            ":now": to_attr(iso(plan.created_at)),
                            ":reason": to_attr(plan.override_reason or "none"),
                        },
                    }
                }
            )
        # The user check also points the user item at the new plan (the chat context reads it).
        actions.extend(
            user_alive_pointer(
                users_table=self.users_table, user_id=plan.user_id, pointer=PLAN_POINTER, value=plan.plan_id
            )
        )
        reasons = transact(self._call, actions=actions)
        if reasons is None:
            return
        if refused_by_user_check(actions=actions, reasons=reasons):
            raise UserGoneError()
        raise PlanConflict()

    def get(self, *, user_id: str, plan_id: str) -> PlanRecord | None:
        result = self._call("get_item", Key=plan_key(user_id, plan_id), ConsistentRead=True)
        item = result.get("Item")
        return PlanRecord.model_validate(from_item(item)) if item else None

    def newest(self, *, user_id: str) -> PlanRecord | None:
        """The user's most recently created plan, in one strongly consistent query."""
        result = self._call(
            "query",
            KeyConditionExpression="user_id = :uid",
            ExpressionAttributeValues={":uid": to_attr(user_id)},
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = result.get("Items") or []
        return PlanRecord.model_validate(from_item(items[0])) if items else None

    def get_page(
        self, *, user_id: str, limit: int, cursor: str | None
    ) -> tuple[list[PlanRecord], str | None]:
        """Newest first."""
        items, next_cursor = self._query_page(
            user_id=user_id,
            limit=limit,
            cursor=cursor,
            cursor_keys={"plan_id"},
            forward=False,
            KeyConditionExpression="user_id = :uid",
            ExpressionAttributeValues={":uid": to_attr(user_id)},
        )
        return [PlanRecord.model_validate(item) for item in items], next_cursor

    def all_for_user(self, *, user_id: str) -> list[PlanRecord]:
        items = self._query_all(
            TableName=self.table_name,
            KeyConditionExpression="user_id = :uid",
            ExpressionAttributeValues={":uid": to_attr(user_id)},
        )
        return [PlanRecord.model_validate(item) for item in items]

    def set_status(
        self, *, plan: PlanRecord, status: str, allowed_from: tuple[str, ...], now: str, release_slot: bool
    ) -> bool:
        """Conditional status change; ending a plan also clears it from the slot (lock kept)."""
        values: dict[str, Any] = {":status": to_attr(status), ":now": to_attr(now)}
        terms = []
        for index, old in enumerate(allowed_from):
            values[f":from{index}"] = to_attr(old)
            terms.append(f"#status = :from{index}")
        expression = "SET #status = :status, updated_at = :now" + (
            ", ended_at = :now" if release_slot else ""
        )
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": plan_key(plan.user_id, plan.plan_id),
                    "UpdateExpression": expression,
                    "ConditionExpression": " OR ".join(terms),
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": values,
                }
            }
        ]
        if release_slot:
            actions.append(
                {
                    "Update": {
                        "TableName": self.records_table,
                        "Key": plan_slot_key(plan.user_id),
                        "UpdateExpression": "REMOVE current_plan_id ADD version :one",
                        "ConditionExpression": "current_plan_id = :plan",
                        "ExpressionAttributeValues": {":plan": to_attr(plan.plan_id), ":one": to_attr(1)},
                    }
                }
            )
        try:
            self._call("transact_write_items", TransactItems=actions)
        except TransactionCancelled as exc:
            if "ConditionalCheckFailed" in exc.reasons or "TransactionConflict" in exc.reasons:
                return False
            raise
        self._bump(plan.user_id)
        return True

    def put_checkin(self, *, plan: PlanRecord, checkin: CheckIn, extra_warning: str | None) -> PlanRecord:
        """One check-in per day: a later one for the same date replaces it."""
        expression = f"SET {CHECKIN_PATH} = :checkin, updated_at = :now"
        values: dict[str, Any] = {
            ":checkin": to_attr(checkin.model_dump(mode="json")),
            ":now": to_attr(iso(checkin.recorded_at)),
        }
        if extra_warning:
            expression += ", warnings = list_append(if_not_exists(warnings, :empty), :warning)"
            values[":warning"] = to_attr([extra_warning])
            values[":empty"] = to_attr([])
        try:
            result = self._call(
                "update_item",
                Key=plan_key(plan.user_id, plan.plan_id),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(plan_id)",
                ExpressionAttributeNames=checkin_path_names(checkin.date),
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ConditionFailed:
            return plan
        self._bump(plan.user_id)
        return PlanRecord.model_validate(from_item(result["Attributes"]))

    def add_warning(self, *, plan: PlanRecord, warning: str) -> PlanRecord:
        """Append a warning once (a concurrent identical append is refused by the condition)."""
        try:
            result = self._call(
                "update_item",
                Key=plan_key(plan.user_id, plan.plan_id),
                UpdateExpression="SET warnings = list_append(if_not_exists(warnings, :empty), :warning), "
                "updated_at = :now",
                ConditionExpression="attribute_exists(plan_id) AND NOT contains(warnings, :text)",
                ExpressionAttributeValues={
                    ":warning": to_attr([warning]),
                    ":empty": to_attr([]),
                    ":text": to_attr(warning),
                    ":now": to_attr(iso(utc_now())),
                },
                ReturnValues="ALL_NEW",
            )
        except ConditionFailed:
            return self.get(user_id=plan.user_id, plan_id=plan.plan_id) or plan
        self._bump(plan.user_id)
        return PlanRecord.model_validate(from_item(result["Attributes"]))

    def delete_all(self, *, user_id: str) -> int:
        """Every plan of the user and the slot (account deletion); safe to repeat."""
        plans = self.all_for_user(user_id=user_id)
        self._delete_keys([plan_key(user_id, p.plan_id) for p in plans])
        self._call("delete_item", TableName=self.records_table, Key=plan_slot_key(user_id))
        return len(plans)
