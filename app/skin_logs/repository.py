"""Skin logs in the records table: key queries only (every key from `app.db.keys`).

A log item lives under `skinlog#<date>#<log_id>` (date-ordered listing) and a pointer
`skinlog-id#<log_id>` names its date (reading by id). Both are written, moved and deleted
in one transaction, so a pointer never names a log that is not there. Writes that add a
log carry the user-alive check, so nothing is written for an account being deleted.
"""

from typing import Any

from app.core.security import iso
from app.db.dynamodb import from_item, to_attr, to_item
from app.db.guards import (
    TRACK_SKIN_LOGS,
    UserGoneError,
    refused_by_user_check,
    transact,
    user_alive_check,
    user_alive_tracking,
)
from app.db.keys import (
    SKIN_LOG_ID_PREFIX,
    SKIN_LOG_PREFIX,
    record_key,
    skin_log_key,
    skin_log_pointer_key,
    skin_log_range,
    skin_log_sk,
)
from app.db.repository import ConditionFailed, Repository, update_expression
from app.skin_logs.models import SkinLogRecord

_KEY_FIELDS = {"sk", "expires_at_epoch"}


class SkinLogChanged(Exception):  # noqa: N818 - reads as an outcome
    """The log was changed or deleted since it was read."""


class SkinLogsRepository(Repository):
    # ---- writes ----

    def create(self, *, log: SkinLogRecord) -> None:
        """The log and its pointer together; UserGoneError when the account is gone."""
        actions = [
            self._put_log(log, condition="attribute_not_exists(sk)"),
            self._put_pointer(log, condition="attribute_not_exists(sk)"),
            # The user check also marks the user as keeping skin logs (the chat context reads it).
            *user_alive_tracking(users_table=self.users_table, user_id=log.user_id, feature=TRACK_SKIN_LOGS),
        ]
        reasons = transact(self._call, actions=actions)
        if reasons is None:
            return
        if refused_by_user_check(actions=actions, reasons=reasons):
            raise UserGoneError()
        raise SkinLogChanged()  # pragma: no cover - a fresh ULID never exists already

    def update_fields(self, *, log: SkinLogRecord, changes: dict[str, Any]) -> SkinLogRecord:
        """Change only `changes` (None removes a field), if nobody changed the log meanwhile."""
        expression, names, values = update_expression(changes)
        names["#updated"] = "updated_at"
        values[":seen"] = to_attr(iso(log.updated_at))
        try:
            result = self._call(
                "update_item",
                Key=skin_log_key(log.user_id, log.log_date, log.log_id),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(sk) AND #updated = :seen",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ConditionFailed as exc:
            raise SkinLogChanged() from exc
        return _record(from_item(result["Attributes"]))

    def move(self, *, old: SkinLogRecord, new: SkinLogRecord) -> None:
        """A log whose date changed: old item out, new item in, pointer updated, all or nothing."""
        actions = [
            {
                "Delete": {
                    "TableName": self.table_name,
                    "Key": skin_log_key(old.user_id, old.log_date, old.log_id),
                    "ConditionExpression": "attribute_exists(sk) AND updated_at = :seen",
                    "ExpressionAttributeValues": {":seen": to_attr(iso(old.updated_at))},
                }
            },
            self._put_log(new, condition="attribute_not_exists(sk)"),
            self._put_pointer(new, condition="log_date = :old", values={":old": to_attr(old.log_date)}),
            *user_alive_check(users_table=self.users_table, user_id=new.user_id),
        ]
        reasons = transact(self._call, actions=actions)
        if reasons is None:
            return
        if refused_by_user_check(actions=actions, reasons=reasons):
            raise UserGoneError()
        raise SkinLogChanged()

    def delete(self, *, log: SkinLogRecord) -> None:
        """The log and its pointer (a repeat, or a concurrent delete, is not an error)."""
        self._call(
            "transact_write_items",
            TransactItems=[
                {"Delete": {"TableName": self.table_name, "Key": key}}
                for key in (
                    skin_log_key(log.user_id, log.log_date, log.log_id),
                    skin_log_pointer_key(log.user_id, log.log_id),
                )
            ],
        )

    # ---- reads ----

    def get(self, *, user_id: str, log_id: str) -> SkinLogRecord | None:
        """By id: the pointer gives the date, the date gives the log's key."""
        pointer = self._call("get_item", Key=skin_log_pointer_key(user_id, log_id), ConsistentRead=True)
        if "Item" not in pointer:
            return None
        log_date = str(from_item(pointer["Item"])["log_date"])
        result = self._call("get_item", Key=skin_log_key(user_id, log_date, log_id), ConsistentRead=True)
        item = result.get("Item")
        return _record(from_item(item)) if item else None

    def page(
        self,
        *,
        user_id: str,
        date_from: str | None,
        date_to: str | None,
        limit: int,
        cursor: str | None,
        newest_first: bool = True,
    ) -> tuple[list[SkinLogRecord], str | None]:
        """Logs dated `date_from`..`date_to` (inclusive), by date, with the API's cursor."""
        low, high = skin_log_range(date_from, date_to)
        items, next_cursor = self._query_sk_range(
            user_id=user_id, low=low, high=high, limit=limit, cursor=cursor, newest_first=newest_first
        )
        return [_record(item) for item in items], next_cursor

    def all_for_user(self, *, user_id: str) -> list[SkinLogRecord]:
        """Every log of the user, oldest date first (export, observations)."""
        items = self._query_prefix(user_id=user_id, prefix=SKIN_LOG_PREFIX)
        return [_record(item) for item in items]

    def delete_all(self, *, user_id: str) -> int:
        """Every log and pointer of the user (account deletion); safe to repeat."""
        keys: list[dict[str, Any]] = []
        for prefix in (SKIN_LOG_PREFIX, SKIN_LOG_ID_PREFIX):
            items = self._query_prefix(user_id=user_id, prefix=prefix, ProjectionExpression="sk")
            keys += [record_key(user_id, str(item["sk"])) for item in items]
        self._delete_keys(keys)
        return sum(1 for key in keys if key["sk"]["S"].startswith(SKIN_LOG_PREFIX))

    # ---- items ----

    def _put_log(self, log: SkinLogRecord, *, condition: str) -> dict[str, Any]:
        data = log.model_dump(mode="json", exclude_none=True)
        item = {"sk": skin_log_sk(log.log_date, log.log_id), **data}
        return {
            "Put": {"TableName": self.table_name, "Item": to_item(item), "ConditionExpression": condition}
        }

    def _put_pointer(
        self, log: SkinLogRecord, *, condition: str, values: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        item = {"user_id": log.user_id, "sk": SKIN_LOG_ID_PREFIX + log.log_id, "log_date": log.log_date}
        put: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": to_item(item),
            "ConditionExpression": condition,
        }
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}


def _record(item: dict[str, Any]) -> SkinLogRecord:
    return SkinLogRecord.model_validate({k: v for k, v in item.items() if k not in _KEY_FIELDS})
