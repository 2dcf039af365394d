"""Notifications: making one (preferences decide; once-only by a guard), the feed, and devices.

Every notification is made through `make`: it reads the user's preferences, writes the feed
item and its once-only guard in one transaction (so two schedulers, or a retried event, make
it exactly once), then pushes it to the user's devices. A device whose token the provider
refuses is dropped on the spot.
"""

import logging
from datetime import timedelta

from app.core.errors import AccountGoneError, DependencyUnavailableError, NotFoundError, UnprocessableError
from app.core.security import iso, new_id, utc_now
from app.db.guards import UserGoneError
from app.db.keys import notification_device_id
from app.notifications.models import DeviceRecord, NotificationKind, NotificationRecord, Platform
from app.notifications.repository import NotificationsRepository
from app.preferences.models import StoredPreferences
from app.preferences.service import PreferencesService
from app.providers.push import PushMessage, PushRejected, PushSender

logger = logging.getLogger("dermalens.notifications")

MAX_DEVICES = 10
# The preference switch that decides each kind; a severe reaction is always made (safety advice).
KIND_SWITCH: dict[str, str | None] = {
    "scan_completed": "scan_updates",
    "scan_failed": "scan_updates",
    "plan_unlocked": "plan_updates",
    "rescan_due": "rescan_reminders",
    "routine_am": "routine_reminders",
    "routine_pm": "routine_reminders",
    "severe_reaction": None,
}


class NotificationNotFoundError(NotFoundError):
    code = "notification_not_found"
    message = "No such notification."


class DeviceNotFoundError(NotFoundError):
    code = "device_not_found"
    message = "No such device."


class NotificationService:
    def __init__(
        self,
        *,
        notifications: NotificationsRepository,
        preferences: PreferencesService,
        push: PushSender,
        ttl_days: int,
    ) -> None:
        self._repo = notifications
        self._preferences = preferences
        self._push = push
        self._ttl = timedelta(days=ttl_days)

    # ---- making ----

    def make(
        self,
        *,
        user_id: str,
        kind: NotificationKind,
        title: str,
        body: str,
        data: dict[str, str] | None = None,
        dedupe_key: str | None = None,
        preferences: StoredPreferences | None = None,
    ) -> NotificationRecord | None:
        """Make a notification as the user's preferences say; None if not made (off, or made before)."""
        prefs = preferences or self._preferences.get(user_id=user_id)
        switch = KIND_SWITCH[kind]
        if switch is not None and not getattr(prefs.notifications, switch):
            return None
        in_app = prefs.notifications.in_app or switch is None
        push = prefs.notifications.push
        if not in_app and not push:
            return None
        now = utc_now()
        record = NotificationRecord(
            notification_id=new_id(), kind=kind, title=title, body=body, data=data or {}, created_at=now
        )
        expires = int((now + self._ttl).timestamp())
        try:
            made = self._repo.create(
                user_id=user_id,
                notification=record,
                keep_in_feed=in_app,
                expires_at_epoch=expires,
                dedupe_key=dedupe_key,
                # A guard outlives its day by a margin, then the table's TTL removes it.
                guard_expires_at_epoch=int((now + timedelta(days=3)).timestamp()),
            )
        except UserGoneError:
            return None
        if not made:
            return None
        if push:
            self._deliver(user_id=user_id, message=PushMessage(title=title, body=body, data=record.data))
        return record

    def _deliver(self, *, user_id: str, message: PushMessage) -> None:
        for device in self._repo.devices(user_id=user_id):
            try:
                self._push.send(
                    platform=device.platform,
                    token=device.token,
                    endpoint=device.endpoint_arn,
                    message=message,
                )
            except PushRejected as exc:
                logger.info("push token rejected; device dropped", extra={"reason": str(exc)})
                self._repo.delete_device(user_id=user_id, device_id=device.device_id)
                self._unregister(device)
            except DependencyUnavailableError as exc:
                # The feed item is written; a push that cannot go now is not retried.
                logger.warning("push not delivered: %s", exc.message)

    def _unregister(self, device: DeviceRecord) -> None:
        try:
            self._push.unregister(endpoint=device.endpoint_arn)
        except DependencyUnavailableError as exc:
            logger.warning("push endpoint not removed: %s", exc.message)

    # ---- the feed ----

    def page(
        self, *, user_id: str, unread_only: bool, limit: int, cursor: str | None
    ) -> tuple[list[NotificationRecord], str | None, str | None]:
        """Newest first: (items, next cursor, the read-all watermark that decides `read`)."""
        watermark = self._repo.feed_state(user_id=user_id).read_before
        items, next_cursor = self._repo.page(
            user_id=user_id,
            limit=limit,
            cursor=cursor,
            unread_after=(watermark or "") if unread_only else None,
        )
        return items, next_cursor, watermark

    def mark_read(self, *, user_id: str, notification_id: str) -> NotificationRecord:
        record = self._repo.mark_read(
            user_id=user_id, notification_id=notification_id, read_at=iso(utc_now())
        )
        if record is None:
            raise NotificationNotFoundError()
        return record

    def mark_all_read(self, *, user_id: str) -> str | None:
        """Everything made so far counts as read: one write, however long the feed."""
        newest = self._repo.newest_id(user_id=user_id)
        if newest:
            self._repo.raise_watermark(user_id=user_id, read_before=newest)
        return newest

    def delete(self, *, user_id: str, notification_id: str) -> None:
        if not self._repo.delete(user_id=user_id, notification_id=notification_id):
            raise NotificationNotFoundError()

    # ---- devices ----

    def register_device(
        self, *, user_id: str, platform: Platform, token: str, name: str | None
    ) -> DeviceRecord:
        """Register (or refresh) a push token; the same token again is the same device."""
        device_id = notification_device_id(token)
        existing = self._repo.get_device(user_id=user_id, device_id=device_id)
        if existing is None and len(self._repo.devices(user_id=user_id)) >= MAX_DEVICES:
            raise UnprocessableError(
                f"At most {MAX_DEVICES} devices can receive push; remove one first.",
                code="too_many_devices",
            )
        try:
            endpoint = self._push.register(platform=platform, token=token, user_id=user_id)
        except PushRejected as exc:
            raise UnprocessableError(
                "The push provider refused this device token.", code="device_token_rejected"
            ) from exc
        now = utc_now()
        device = DeviceRecord(
            device_id=device_id,
            platform=platform,
            token=token,
            name=name,
            endpoint_arn=endpoint,
            created_at=existing.created_at if existing else now,
            updated_at=now,
        )
        try:
            self._repo.put_device(user_id=user_id, device=device)
        except UserGoneError as exc:
            raise AccountGoneError() from exc
        return device

    def devices(self, *, user_id: str) -> list[DeviceRecord]:
        return self._repo.devices(user_id=user_id)

    def remove_device(self, *, user_id: str, device_id: str) -> None:
        device = self._repo.delete_device(user_id=user_id, device_id=device_id)
        if device is None:
            raise DeviceNotFoundError()
        self._unregister(device)
