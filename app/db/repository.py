"""What every repository shares: error translation at the boundary and opaque cursors."""

from collections.abc import Callable
from typing import Any, TypeVar

import anyio
from botocore.exceptions import BotoCoreError, ClientError

from app.core.errors import BadRequestError, DependencyUnavailableError
from app.core.pagination import pack_cursor, unpack_cursor
from app.db.dynamodb import from_item, to_attr
from app.db.lean_reads import LeanGetItem

T = TypeVar("T")

_UNAVAILABLE_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "ResourceNotFoundException",  # table missing: not the client's fault
}


class ConditionFailed(Exception):  # noqa: N818 - reads as a DynamoDB outcome
    """A conditional write's condition was false; repositories turn it into a domain error."""


class TransactionCancelled(Exception):  # noqa: N818
    """A transaction was cancelled; `reasons` holds one code per action ('None' if fine)."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__(", ".join(reasons))


def call_dynamodb(operation: Callable[..., T], **kwargs: Any) -> T:
    """Run one client call, translating transport failures to 503 and conditions to types."""
    try:
        return operation(**kwargs)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ConditionalCheckFailedException":
            raise ConditionFailed() from exc
        if code == "TransactionCanceledException":
            reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
            raise TransactionCancelled(reasons) from exc
        if (
            code in _UNAVAILABLE_CODES
            or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
        ):
            raise DependencyUnavailableError("The database is unavailable; try again shortly.") from exc
        raise
    except BotoCoreError as exc:  # connection refused, timeouts, closed connections, ...
        raise DependencyUnavailableError("The database is unavailable; try again shortly.") from exc


def update_expression(changes: dict[str, Any]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """`SET a = :a, ... REMOVE b, ...` from a dict (None removes), with placeholder names and values."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    sets, removes = [], []
    for index, (field, value) in enumerate(changes.items()):
        names[f"#f{index}"] = field
        if value is None:
            removes.append(f"#f{index}")
        else:
            values[f":f{index}"] = to_attr(value)
            sets.append(f"#f{index} = :f{index}")
    expression = " ".join(
        part
        for part in (
            "SET " + ", ".join(sets) if sets else "",
            "REMOVE " + ", ".join(removes) if removes else "",
        )
        if part
    )
    return expression, names, values


def encode_cursor(last_evaluated_key: dict[str, Any] | None, *, partition_key: str) -> str | None:
    """An opaque cursor holding the key past the partition key (which the caller supplies)."""
    if not last_evaluated_key:
        return None
    return pack_cursor({k: v for k, v in from_item(last_evaluated_key).items() if k != partition_key})


def decode_cursor(
    cursor: str | None, *, partition_key: str, partition_value: str, allowed_keys: set[str]
) -> dict[str, Any] | None:
    """Rebuild an ExclusiveStartKey for *this* user, so a cursor can never reach another's data."""
    if not cursor:
        return None
    position = unpack_cursor(cursor, keys=allowed_keys)
    if not all(isinstance(v, str) and 0 < len(v) <= 200 for v in position.values()):
        raise BadRequestError("The cursor is not valid.", code="invalid_cursor")
    key = {name: to_attr(value) for name, value in position.items()}
    key[partition_key] = to_attr(partition_value)
    return key


def sk_prefix_condition(user_id: str, prefix: str) -> dict[str, Any]:
    """Query arguments: the user's partition, sort keys starting with `prefix`."""
    return {
        "KeyConditionExpression": "user_id = :uid AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {":uid": to_attr(user_id), ":prefix": to_attr(prefix)},
    }


class Repository:
    """Base: holds the injected client, the table name, and the users table that writes
    guarded by "the account still exists" check (`app/db/guards.py`)."""

    def __init__(
        self, client: Any, table_name: str, users_table: str = "", *, lean_reads: LeanGetItem | None = None
    ) -> None:
        self._client = client
        self.table_name = table_name
        self.users_table = users_table
        self._lean_reads = lean_reads

    def _call(self, operation_name: str, **kwargs: Any) -> Any:
        operation = getattr(self._client, operation_name)
        if operation_name not in {"transact_write_items", "batch_write_item"}:
            kwargs.setdefault("TableName", self.table_name)
        return call_dynamodb(operation, **kwargs)

    def _consistent_get(self, key: dict[str, Any]) -> dict[str, Any]:
        """A strongly consistent GetItem: the lean attempt first when there is one, then boto3."""
        if self._lean_reads is not None:
            result = self._lean_reads.get_item(table_name=self.table_name, key=key)
            if result is not None:
                return result
        response: dict[str, Any] = self._call("get_item", Key=key, ConsistentRead=True)
        return response

    async def _consistent_get_async(self, key: dict[str, Any]) -> dict[str, Any]:
        """`_consistent_get` for the event loop: the lean attempt on the loop, boto3 in a thread."""
        if self._lean_reads is not None:
            result = await self._lean_reads.get_item_async(table_name=self.table_name, key=key)
            if result is not None:
                return result
        return await anyio.to_thread.run_sync(self._consistent_get, key)

    def _query_all(self, **kwargs: Any) -> list[dict[str, Any]]:
        """Every item of a (bounded, per-user) query, following pages."""
        items: list[dict[str, Any]] = []
        while True:
            page = self._call("query", **kwargs)
            items.extend(from_item(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _query_page(
        self,
        *,
        user_id: str,
        limit: int,
        cursor: str | None,
        cursor_keys: set[str],
        forward: bool,
        **query: Any,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a query in the user's partition, with the one cursor style of the API."""
        kwargs: dict[str, Any] = {"ScanIndexForward": forward, "Limit": limit, **query}
        start = decode_cursor(
            cursor, partition_key="user_id", partition_value=user_id, allowed_keys=cursor_keys
        )
        if start:
            kwargs["ExclusiveStartKey"] = start
        try:
            page = self._call("query", **kwargs)
        except ClientError as exc:
            # A well-formed key outside the query's key condition (a tampered cursor, or one
            # from another listing) is the client's mistake, not ours.
            if start and exc.response.get("Error", {}).get("Code") == "ValidationException":
                raise BadRequestError("The cursor is not valid.", code="invalid_cursor") from exc
            raise
        items = [from_item(item) for item in page.get("Items", [])]
        return items, encode_cursor(page.get("LastEvaluatedKey"), partition_key="user_id")

    def _query_prefix(self, *, user_id: str, prefix: str, **query: Any) -> list[dict[str, Any]]:
        """Every item of the user whose sort key starts with `prefix` (following pages)."""
        return self._query_all(**sk_prefix_condition(user_id, prefix), **query)

    def _query_prefix_page(
        self, *, user_id: str, prefix: str, limit: int, cursor: str | None, newest_first: bool = True
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the user's items whose sort key starts with `prefix`, in sort-key order."""
        return self._query_page(
            user_id=user_id,
            limit=limit,
            cursor=cursor,
            cursor_keys={"sk"},
            forward=not newest_first,
            **sk_prefix_condition(user_id, prefix),
        )

    def _query_sk_range(
        self, *, user_id: str, low: str, high: str, limit: int, cursor: str | None, newest_first: bool = True
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the user's items with `low <= sk <= high`, in sort-key order."""
        return self._query_page(
            user_id=user_id,
            limit=limit,
            cursor=cursor,
            cursor_keys={"sk"},
            forward=not newest_first,
            KeyConditionExpression="user_id = :uid AND sk BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":uid": to_attr(user_id),
                ":low": to_attr(low),
                ":high": to_attr(high),
            },
        )

    def _delete_keys(self, keys: list[dict[str, Any]]) -> None:
        """Delete items by key in batches of 25, retrying unprocessed ones."""
        for start in range(0, len(keys), 25):
            requests = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
            pending: dict[str, Any] = {self.table_name: requests}
            for _ in range(8):
                result = self._call("batch_write_item", RequestItems=pending)
                pending = result.get("UnprocessedItems") or {}
                if not pending:
                    break
            else:
                raise DependencyUnavailableError("The database is busy; try again shortly.")
