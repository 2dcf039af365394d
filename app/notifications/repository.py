"""Records table: the feed, its read watermark, devices and the once-only guards."""

import contextlib
from typing import Any

from app.db.dynamodb import from_item, to_attr, to_item
from app.db.guards import UserGoneError, refused_by_user_check, transact, user_alive_check
from app.db.keys import (
    NOTIFICATION_DEVICE_PREFIX,
    NOTIFICATION_FEED_SK,
    NOTIFICATION_GUARD_PREFIX,
    NOTIFICATION_PREFIX,
    NOTIFICATION_SCHEDULE_SK,
    notification_device_sk,
    notification_feed_key,
    notification_guard_sk,
    notification_key,
    notification_sk,
    record_key,
)
from app.db.repository import ConditionFailed, Repository, sk_prefix_condition
from app.notifications.models import DeviceRecord, FeedState, NotificationRecord

# Past the last ULID character (Crockford base32 ends at Z): the top of the feed's key range.
_FEED_END = NOTIFICATION_PREFIX + "~"


class NotificationsRepository(Repository):
    # ---- making ----

    def create(
        self,
        *,
        user_id: str,
        notification: NotificationRecord,
        keep_in_feed: bool,
        expires_at_epoch: int,
        dedupe_key: str | None,
        guard_expires_at_epoch: int,
    ) -> bool:
        """Write the feed item and its once-only guard together; False if the guard already exists."""
        actions: list[dict[str, Any]] = []
        if dedupe_key:
            guard = {
                "user_id": user_id,
                "sk": notification_guard_sk(dedupe_key),
                "notification_id": notification.notification_id,
                "expires_at_epoch": guard_expires_at_epoch,
            }
            actions.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": to_item(guard),
                        "ConditionExpression": "attribute_not_exists(sk)",
                    }
                }
            )
        if keep_in_feed:
            item = {
                "user_id": user_id,
                "sk": notification_sk(notification.notification_id),
                **notification.model_dump(mode="json"),
                "expires_at_epoch": expires_at_epoch,
            }
            actions.append({"Put": {"TableName": self.table_name, "Item": to_item(item)}})
        if not actions:
            return True
        actions.extend(user_alive_check(users_table=self.users_table, user_id=user_id))
        reasons = transact(self._call, actions=actions)
        if reasons is None:
            return True
        if refused_by_user_check(actions=actions, reasons=reasons):
            raise UserGoneError()
        return False

    # ---- the feed ----

    def feed_state(self, *, user_id: str) -> FeedState:
        result = self._call("get_item", Key=notification_feed_key(user_id), ConsistentRead=True)
        item = result.get("Item")
        return FeedState.model_validate(from_item(item)) if item else FeedState()

    def page(
        self, *, user_id: str, limit: int, cursor: str | None, unread_after: str | None
    ) -> tuple[list[NotificationRecord], str | None]:
        """Newest first; with `unread_after`, only ids past the watermark that were not read one by one."""
        low = NOTIFICATION_PREFIX
        query: dict[str, Any] = {}
        if unread_after is not None:
            # Any 26-character id greater than the watermark sorts after `<watermark>0`.
            low = notification_sk(unread_after + "0") if unread_after else NOTIFICATION_PREFIX
            query["FilterExpression"] = "attribute_not_exists(read_at)"
        items, next_cursor = self._query_page(
            user_id=user_id,
            limit=limit,
            cursor=cursor,
            cursor_keys={"sk"},
            forward=False,
            KeyConditionExpression="user_id = :uid AND sk BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":uid": to_attr(user_id),
                ":low": to_attr(low),
                ":high": to_attr(_FEED_END),
            },
            **query,
        )
        return [NotificationRecord.model_validate(item) for item in items], next_cursor

    def newest_id(self, *, user_id: str) -> str | None:
        result = self._call(
            "query",
            **sk_prefix_condition(user_id, NOTIFICATION_PREFIX),
            ScanIndexForward=False,
            Limit=1,
            ProjectionExpression="notification_id",
        )
        items = result.get("Items", [])
        return str(from_item(items[0])["notification_id"]) if items else None

    def raise_watermark(self, *, user_id: str, read_before: str) -> None:
        """Move the read-all watermark forward (never back: two read-alls may race)."""
        # A later read-all may have got there first: then there is nothing to do.
        with contextlib.suppress(ConditionFailed):
            self._call(
                "update_item",
                Key=notification_feed_key(user_id),
                UpdateExpression="SET read_before = :id",
                ConditionExpression="attribute_not_exists(read_before) OR read_before < :id",
                ExpressionAttributeValues={":id": to_attr(read_before)},
            )

    def mark_read(self, *, user_id: str, notification_id: str, read_at: str) -> NotificationRecord | None:
        """Set `read_at` (kept if already set); None if there is no such notification."""
        try:
            result = self._call(
                "update_item",
                Key=notification_key(user_id, notification_id),
                UpdateExpression="SET read_at = if_not_exists(read_at, :now)",
                ConditionExpression="attribute_exists(sk)",
                ExpressionAttributeValues={":now": to_attr(read_at)},
                ReturnValues="ALL_NEW",
            )
        except ConditionFailed:
            return None
        return NotificationRecord.model_validate(from_item(result["Attributes"]))

    def delete(self, *, user_id: str, notification_id: str) -> bool:
        try:
            self._call(
                "delete_item",
                Key=notification_key(user_id, notification_id),
                ConditionExpression="attribute_exists(sk)",
            )
        except ConditionFailed:
            return False
        return True

    # ---- devices ----

    def put_device(self, *, user_id: str, device: DeviceRecord) -> None:
        item = {
            "user_id": user_id,
            "sk": notification_device_sk(device.device_id),
            **device.model_dump(mode="json"),
        }
        actions = [
            {"Put": {"TableName": self.table_name, "Item": to_item(item)}},
            *user_alive_check(users_table=self.users_table, user_id=user_id),
        ]
        if transact(self._call, actions=actions) is not None:
            raise UserGoneError()

    def get_device(self, *, user_id: str, device_id: str) -> DeviceRecord | None:
        result = self._call(
            "get_item", Key=record_key(user_id, notification_device_sk(device_id)), ConsistentRead=True
        )
        item = result.get("Item")
        return DeviceRecord.model_validate(from_item(item)) if item else None

    def devices(self, *, user_id: str) -> list[DeviceRecord]:
        """Every registered device (a handful per user)."""
        return [
            DeviceRecord.model_validate(i) for i in self._prefix_items(user_id, NOTIFICATION_DEVICE_PREFIX)
        ]

    def delete_device(self, *, user_id: str, device_id: str) -> DeviceRecord | None:
        """Remove and return a device; None if there is none with that id."""
        try:
            result = self._call(
                "delete_item",
                Key=record_key(user_id, notification_device_sk(device_id)),
                ConditionExpression="attribute_exists(sk)",
                ReturnValues="ALL_OLD",
            )
        except ConditionFailed:
            return None
        return DeviceRecord.model_validate(from_item(result["Attributes"]))

    # ---- export and erasure ----

    def all_notifications(self, *, user_id: str) -> list[NotificationRecord]:
        return [
            NotificationRecord.model_validate(i) for i in self._prefix_items(user_id, NOTIFICATION_PREFIX)
        ]

    def _prefix_items(self, user_id: str, prefix: str) -> list[dict[str, Any]]:
        return self._query_prefix(user_id=user_id, prefix=prefix, ConsistentRead=True)

    def delete_user_items(self, *, user_id: str) -> int:
        """The feed, devices, guards, watermark and schedule refs (the rest of the partition is left)."""
        keys = [
            record_key(user_id, str(i["sk"]))
            for prefix in (NOTIFICATION_PREFIX, NOTIFICATION_DEVICE_PREFIX, NOTIFICATION_GUARD_PREFIX)
            for i in self._prefix_items(user_id, prefix)
        ]
        keys += [record_key(user_id, NOTIFICATION_FEED_SK), record_key(user_id, NOTIFICATION_SCHEDULE_SK)]
        self._delete_keys(keys)
        return len(keys)
