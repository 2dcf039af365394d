"""The skin logs' part of account export and erasure (a `UserDataOwner`)."""

from typing import Any

from app.account.owners import ImageUrl
from app.skin_logs.models import to_public
from app.skin_logs.repository import SkinLogsRepository


class SkinLogsData:
    """Every skin log of the user."""

    name = "skin_logs"

    def __init__(self, *, logs: SkinLogsRepository) -> None:
        self._logs = logs

    def erase_user(self, *, user_id: str, email: str) -> dict[str, int]:  # noqa: ARG002
        """Every log and its id pointer."""
        return {"skin_logs": self._logs.delete_all(user_id=user_id)}

    def export_user(self, *, user_id: str, image_url: ImageUrl) -> dict[str, Any]:  # noqa: ARG002
        """Every log, oldest date first, as the API shows it."""
        logs = self._logs.all_for_user(user_id=user_id)
        return {"skin_logs": [to_public(log.model_dump(mode="json")) for log in logs]}
