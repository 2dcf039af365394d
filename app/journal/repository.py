"""Records table: journal entries under `journal#<date>#<entry_id>`, each with an id ref.

A date-range listing is one key query on the sort key; a get by id reads the ref
(`journal-id#<entry_id>`, which names the entry's sort key) and then the entry. Creation,
a date change (the entry moves) and deletion write the entry and its ref together.
"""

from typing import Any

from app.db.dynamodb import from_item, to_item
from app.db.guards import UserGoneError, refused_by_user_check, transact, user_alive_check
from app.db.keys import (
    JOURNAL_PREFIX,
    JOURNAL_REF_PREFIX,
    dated_range,
    journal_ref_sk,
    journal_sk,
    record_key,
)
from app.db.repository import ConditionFailed, Repository, update_expression
from app.journal.models import JournalEntryRecord

__all__ = ["EntryGone", "JournalRepository"]


class EntryGone(Exception):  # noqa: N818
    """The entry was deleted (or moved) meanwhile."""


class JournalRepository(Repository):
    def _item(self, entry: JournalEntryRecord) -> dict[str, Any]:
        return to_item({"sk": journal_sk(entry.date, entry.entry_id), **entry.model_dump(mode="json")})

    def _ref(self, entry: JournalEntryRecord) -> dict[str, Any]:
        return to_item(
            {
                "user_id": entry.user_id,
                "sk": journal_ref_sk(entry.entry_id),
                "entry_sk": journal_sk(entry.date, entry.entry_id),
            }
        )

    def create(self, *, entry: JournalEntryRecord) -> None:
        """The entry and its ref, only while the user exists (UserGoneError otherwise)."""
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": self._item(entry),
                    "ConditionExpression": "attribute_not_exists(sk)",
                }
            },
            {"Put": {"TableName": self.table_name, "Item": self._ref(entry)}},
            *user_alive_check(users_table=self.users_table, user_id=entry.user_id),
        ]
        reasons = transact(self._call, actions=actions)
        if reasons is not None:
            if refused_by_user_check(actions=actions, reasons=reasons):
                raise UserGoneError()
            raise EntryGone()

    def get(self, *, user_id: str, entry_id: str) -> JournalEntryRecord | None:
        ref = self._call("get_item", Key=record_key(user_id, journal_ref_sk(entry_id)), ConsistentRead=True)
        if "Item" not in ref:
            return None
        entry_sk = str(from_item(ref["Item"])["entry_sk"])
        result = self._call("get_item", Key=record_key(user_id, entry_sk), ConsistentRead=True)
        item = result.get("Item")
        return JournalEntryRecord.model_validate(from_item(item)) if item else None

    def page(
        self, *, user_id: str, limit: int, cursor: str | None, date_from: str | None, date_to: str | None
    ) -> tuple[list[JournalEntryRecord], str | None]:
        """Newest date first, within inclusive YYYY-MM-DD bounds."""
        low, high = dated_range(JOURNAL_PREFIX, date_from, date_to)
        items, next_cursor = self._query_sk_range(
            user_id=user_id, low=low, high=high, limit=limit, cursor=cursor
        )
        return [JournalEntryRecord.model_validate(item) for item in items], next_cursor

    def update(self, *, old: JournalEntryRecord, changes: dict[str, Any], new: JournalEntryRecord) -> None:
        """Write only the changed fields; a new date moves the entry and its ref in one transaction."""
        if new.date == old.date:
            expression, names, values = update_expression(changes)
            try:
                self._call(
                    "update_item",
                    Key=record_key(old.user_id, journal_sk(old.date, old.entry_id)),
                    UpdateExpression=expression,
                    ConditionExpression="attribute_exists(sk)",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                )
            except ConditionFailed as exc:
                raise EntryGone() from exc
            return
        actions: list[dict[str, Any]] = [
            {
                "Delete": {
                    "TableName": self.table_name,
                    "Key": record_key(old.user_id, journal_sk(old.date, old.entry_id)),
                    "ConditionExpression": "attribute_exists(sk)",
                }
            },
            {"Put": {"TableName": self.table_name, "Item": self._item(new)}},
            {"Put": {"TableName": self.table_name, "Item": self._ref(new)}},
        ]
        if transact(self._call, actions=actions) is not None:
            raise EntryGone()

    def delete(self, *, entry: JournalEntryRecord) -> None:
        """The entry and its ref."""
        actions = [
            {
                "Delete": {
                    "TableName": self.table_name,
                    "Key": record_key(entry.user_id, journal_sk(entry.date, entry.entry_id)),
                }
            },
            {
                "Delete": {
                    "TableName": self.table_name,
                    "Key": record_key(entry.user_id, journal_ref_sk(entry.entry_id)),
                }
            },
        ]
        transact(self._call, actions=actions)

    def all_for_user(self, *, user_id: str) -> list[JournalEntryRecord]:
        """Every entry, oldest date first (export)."""
        items = self._query_prefix(user_id=user_id, prefix=JOURNAL_PREFIX)
        return [JournalEntryRecord.model_validate(item) for item in items]

    def delete_all(self, *, user_id: str) -> int:
        """Every entry and ref (account deletion); safe to repeat."""
        keys = []
        for prefix in (JOURNAL_PREFIX, JOURNAL_REF_PREFIX):
            items = self._query_prefix(user_id=user_id, prefix=prefix)
            keys += [record_key(user_id, str(i["sk"])) for i in items]
        self._delete_keys(keys)
        return sum(1 for k in keys if k["sk"]["S"].startswith(JOURNAL_PREFIX))
