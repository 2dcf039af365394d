"""The journal's part of account export and erasure (a `UserDataOwner`)."""

from typing import Any

from app.account.owners import ImageUrl
from app.journal.repository import JournalRepository


class JournalData:
    """Journal entries and their id refs."""

    name = "journal"

    def __init__(self, *, journal: JournalRepository) -> None:
        self._journal = journal

    def erase_user(self, *, user_id: str, email: str) -> dict[str, int]:  # noqa: ARG002
        """Every entry and ref."""
        return {"journal_entries": self._journal.delete_all(user_id=user_id)}

    def export_user(self, *, user_id: str, image_url: ImageUrl) -> dict[str, Any]:  # noqa: ARG002
        """Every entry, oldest first, as stored (cycle fields are derived, so left out)."""
        entries = self._journal.all_for_user(user_id=user_id)
        return {"journal": [e.model_dump(mode="json", exclude={"user_id"}) for e in entries]}
