"""The cycle domain's part of account export and erasure (a `UserDataOwner`)."""

from typing import Any

from app.account.owners import ImageUrl
from app.cycles.repository import CyclesRepository


class CycleData:
    """Period logs and the write slot."""

    name = "cycles"

    def __init__(self, *, cycles: CyclesRepository) -> None:
        self._cycles = cycles

    def erase_user(self, *, user_id: str, email: str) -> dict[str, int]:  # noqa: ARG002
        """Every period log and the slot."""
        return {"period_logs": self._cycles.delete_all(user_id=user_id)}

    def export_user(self, *, user_id: str, image_url: ImageUrl) -> dict[str, Any]:  # noqa: ARG002
        """Every period log, oldest first."""
        logs = self._cycles.periods(user_id=user_id)
        return {"period_logs": [p.model_dump(mode="json", exclude={"user_id"}) for p in logs]}
