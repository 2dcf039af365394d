"""Expiring counters in the records table (TTL): rate limits, quotas, failed sign-ins.

Shared through DynamoDB, so limits hold across several app instances.
"""

from typing import Any

from app.db.dynamodb import from_item, to_attr, to_item
from app.repositories.base import Repository


class CountersRepository(Repository):
    def increment(self, *, owner: str, key: str, expires_at_epoch: int, by: int = 1) -> int:
        """Add to a counter (created at 0) and return the new value; one atomic write."""
        result = self._call(
            "update_item",
            Key={"user_id": to_attr(owner), "sk": to_attr(key)},
            UpdateExpression="ADD #count :by SET expires_at_epoch = if_not_exists(expires_at_epoch, :exp)",
            ExpressionAttributeNames={"#count": "count"},
            ExpressionAttributeValues={":by": to_attr(by), ":exp": to_attr(expires_at_epoch)},
            ReturnValues="ALL_NEW",
        )
        return int(from_item(result["Attributes"])["count"])

    def get(self, *, owner: str, key: str) -> dict[str, Any] | None:
        result = self._call("get_item", Key={"user_id": to_attr(owner), "sk": to_attr(key)}, ConsistentRead=True)
        item = result.get("Item")
        return from_item(item) if item else None

    def put(self, *, owner: str, key: str, values: dict[str, Any], expires_at_epoch: int) -> None:
        item = {"user_id": owner, "sk": key, **values, "expires_at_epoch": expires_at_epoch}
        self._call("put_item", Item=to_item(item))

    def delete(self, *, owner: str, key: str) -> None:
        self._call("delete_item", Key={"user_id": to_attr(owner), "sk": to_attr(key)})
