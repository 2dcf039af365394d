"""Account export and erasure of preferences (a `UserDataOwner`)."""

from typing import Any

from app.account.owners import ImageUrl
from app.preferences.repository import PreferencesRepository


class PreferencesData:
    """The preferences document."""

    name = "preferences"

    def __init__(self, *, preferences: PreferencesRepository) -> None:
        self._repo = preferences

    def erase_user(self, *, user_id: str, email: str) -> dict[str, int]:  # noqa: ARG002 - the UserDataOwner signature
        return {"preferences": self._repo.delete(user_id=user_id)}

    def export_user(self, *, user_id: str, image_url: ImageUrl) -> dict[str, Any]:  # noqa: ARG002 - the UserDataOwner signature
        stored = self._repo.get(user_id=user_id)
        return {"preferences": stored.model_dump(mode="json", exclude={"version"}) if stored else None}
