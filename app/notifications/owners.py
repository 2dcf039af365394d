"""Account export and erasure of notifications (a `UserDataOwner`)."""

from typing import Any

from app.account.owners import ImageUrl
from app.notifications.repository import NotificationsRepository
from app.notifications.schedule_index import ScheduleIndex
from app.providers.push import PushSender


class NotificationsData:
    """The feed, push devices (and their provider endpoints), guards and schedule entries."""

    name = "notifications"

    def __init__(
        self, *, notifications: NotificationsRepository, index: ScheduleIndex, push: PushSender
    ) -> None:
        self._repo = notifications
        self._index = index
        self._push = push

    def erase_user(self, *, user_id: str, email: str) -> dict[str, int]:  # noqa: ARG002 - the UserDataOwner signature
        """Provider endpoints first (they live outside our tables), then index entries and items."""
        devices = self._repo.devices(user_id=user_id)
        for device in devices:
            self._push.unregister(endpoint=device.endpoint_arn)
        entries = self._index.remove_all(user_id=user_id)
        return {
            "notification_items": self._repo.delete_user_items(user_id=user_id),
            "schedule_entries": entries,
        }

    def export_user(self, *, user_id: str, image_url: ImageUrl) -> dict[str, Any]:  # noqa: ARG002 - the UserDataOwner signature
        """Every notification and device (not the push token: a credential for the phone)."""
        return {
            "notifications": [
                n.model_dump(mode="json") for n in self._repo.all_notifications(user_id=user_id)
            ],
            "devices": [
                d.model_dump(mode="json", exclude={"token", "endpoint_arn"})
                for d in self._repo.devices(user_id=user_id)
            ],
        }
