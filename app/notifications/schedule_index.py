"""Records table: the reminder schedule index (one partition per UTC minute) and the schedulers' cursor."""

import contextlib
from typing import Any

from app.db.dynamodb import from_item, to_attr, to_item
from app.db.guards import UserGoneError, transact, user_alive_check
from app.db.keys import notification_schedule_key, notify_cursor_key, notify_entry_sk, record_key
from app.db.repository import ConditionFailed, Repository
from app.notifications.models import ScheduleEntry, ScheduleRefs

# Attribute-name prefix of the refs item's entries (`ref_am`: the partition of the am entry).
_REF = "ref_"


class ScheduleIndex(Repository):
    """The schedule index: one partition per UTC minute, so a tick reads only what is due then."""

    def entries(self, *, partition: str) -> list[ScheduleEntry]:
        items = self._query_all(
            TableName=self.table_name,
            KeyConditionExpression="user_id = :p",
            ExpressionAttributeValues={":p": to_attr(partition)},
        )
        return [ScheduleEntry.model_validate({**i, "partition": partition}) for i in items]

    def refs(self, *, user_id: str) -> ScheduleRefs:
        result = self._call("get_item", Key=notification_schedule_key(user_id), ConsistentRead=True)
        item = from_item(result.get("Item") or {})
        return ScheduleRefs(
            entries={k.removeprefix(_REF): str(v) for k, v in item.items() if k.startswith(_REF)}
        )

    def place(self, *, user_id: str, name: str, partition: str | None, ref: str | None = None) -> None:
        """Put the user's `name` entry in `partition` (None: remove it), moving it from where it was."""
        old = self.refs(user_id=user_id).entries.get(name)
        if partition is not None:
            entry = {
                "user_id": partition,
                "sk": notify_entry_sk(user_id, name),
                "owner_id": user_id,
                "name": name,
                "ref": ref,
            }
            self._call("put_item", Item=to_item(entry))
        if old and old != partition:
            self.remove(partition=old, user_id=user_id, name=name)
        # The refs item lets an erasure (and the next move) find the entries without a Scan;
        # it is written only while the account is alive, so it cannot outlive an erasure.
        update: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": notification_schedule_key(user_id),
            "UpdateExpression": "SET #n = :p" if partition else "REMOVE #n",
            "ExpressionAttributeNames": {"#n": _REF + name},
        }
        if partition:
            update["ExpressionAttributeValues"] = {":p": to_attr(partition)}
        actions = [{"Update": update}, *user_alive_check(users_table=self.users_table, user_id=user_id)]
        if transact(self._call, actions=actions) is not None:
            if partition is not None:
                self.remove(partition=partition, user_id=user_id, name=name)
            raise UserGoneError()

    def remove(self, *, partition: str, user_id: str, name: str) -> None:
        self._call("delete_item", Key=record_key(partition, notify_entry_sk(user_id, name)))

    def remove_all(self, *, user_id: str) -> int:
        """Every entry the user's refs name (account erasure)."""
        refs = self.refs(user_id=user_id)
        for name, partition in refs.entries.items():
            self.remove(partition=partition, user_id=user_id, name=name)
        return len(refs.entries)

    # ---- the schedulers' shared progress ----

    def cursor(self) -> str | None:
        result = self._call("get_item", Key=notify_cursor_key(), ConsistentRead=True)
        item = result.get("Item")
        return str(from_item(item)["minute"]) if item else None

    def advance_cursor(self, *, minute: str) -> None:
        """Record that `minute` is done (never moves back when two schedulers race)."""
        with contextlib.suppress(ConditionFailed):
            self._call(
                "update_item",
                Key=notify_cursor_key(),
                UpdateExpression="SET #m = :m",
                ConditionExpression="attribute_not_exists(#m) OR #m < :m",
                ExpressionAttributeNames={"#m": "minute"},
                ExpressionAttributeValues={":m": to_attr(minute)},
            )
