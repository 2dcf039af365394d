"""Records table: the user's small items that need no table of their own.

Here: expiring counters (rate limits, quotas, failed sign-ins; TTL, shared by every
instance), single-use tokens (email verification, password reset) with their refs in the
user's partition, and the whole-partition reads and deletes used by export and account
deletion. Every key is built in `app.db.keys`. The plan slot, idempotency keys and
job markers live in this table too, written by their own repositories' transactions.
Typed records go in with `put_record` and come back with `consume_record` / `records_for`
(each domain's models.py holds its kinds).
"""

from typing import Any, TypeVar

from pydantic import BaseModel

from app.db.dynamodb import from_item, to_attr, to_item
from app.db.keys import record_key
from app.db.repository import ConditionFailed, Repository

M = TypeVar("M", bound=BaseModel)


class RecordsRepository(Repository):
    def increment(self, *, owner: str, key: str, expires_at_epoch: int, by: int = 1) -> int:
        """Add to a counter (created at 0) and return the new value; one atomic write."""
        result = self._call(
            "update_item",
            Key=record_key(owner, key),
            UpdateExpression="ADD #count :by SET expires_at_epoch = if_not_exists(expires_at_epoch, :exp)",
            ExpressionAttributeNames={"#count": "count"},
            ExpressionAttributeValues={":by": to_attr(by), ":exp": to_attr(expires_at_epoch)},
            ReturnValues="ALL_NEW",
        )
        return int(from_item(result["Attributes"])["count"])

    def get(self, *, owner: str, key: str) -> dict[str, Any] | None:
        result = self._call("get_item", Key=record_key(owner, key), ConsistentRead=True)
        item = result.get("Item")
        return from_item(item) if item else None

    def put(
        self, *, owner: str, key: str, values: dict[str, Any], expires_at_epoch: int | None = None
    ) -> None:
        item = {"user_id": owner, "sk": key, **values, "expires_at_epoch": expires_at_epoch}
        self._call("put_item", Item=to_item(item))

    def put_record(
        self, *, owner: str, key: str, record: BaseModel, expires_at_epoch: int | None = None
    ) -> None:
        """Store a typed record (its fields beside the key) under `owner`/`key`."""
        self.put(
            owner=owner, key=key, values=record.model_dump(mode="json"), expires_at_epoch=expires_at_epoch
        )

    def delete(self, *, owner: str, key: str) -> None:
        self._call("delete_item", Key=record_key(owner, key))

    def consume(self, *, owner: str, key: str) -> dict[str, Any] | None:
        """Delete and return an item in one conditional write: a single-use token can be spent once."""
        try:
            result = self._call(
                "delete_item",
                Key=record_key(owner, key),
                ConditionExpression="attribute_exists(sk)",
                ReturnValues="ALL_OLD",
            )
        except ConditionFailed:
            return None
        return from_item(result["Attributes"])

    def consume_record(self, *, owner: str, key: str, model: type[M]) -> M | None:
        """`consume`, read back as `model` (the key attributes are not part of it)."""
        item = self.consume(owner=owner, key=key)
        return model.model_validate(item) if item else None

    def records_for(self, *, owner: str, model: type[M]) -> dict[str, M]:
        """sort key → record, for every item of the partition."""
        return {str(item["sk"]): model.model_validate(item) for item in self.all_for(owner=owner)}

    def all_for(self, *, owner: str) -> list[dict[str, Any]]:
        return self._query_all(
            TableName=self.table_name,
            KeyConditionExpression="user_id = :uid",
            ExpressionAttributeValues={":uid": to_attr(owner)},
        )

    def delete_partition(self, *, owner: str) -> int:
        items = self.all_for(owner=owner)
        self._delete_keys([record_key(owner, str(i["sk"])) for i in items])
        return len(items)
