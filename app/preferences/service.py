"""Preferences: read with defaults, replace, patch; listeners (the reminder schedule) hear every change."""

from collections.abc import Callable
from typing import Any

from app.auth.models import UserRecord
from app.core.errors import AccountGoneError, ConflictError
from app.core.security import utc_now
from app.db.guards import UserGoneError
from app.preferences.models import Preferences, StoredPreferences
from app.preferences.repository import PreferencesChanged, PreferencesRepository

PreferencesListener = Callable[[UserRecord, StoredPreferences], None]
_SAVE_ATTEMPTS = 3


class PreferencesService:
    def __init__(self, *, preferences: PreferencesRepository) -> None:
        self._repo = preferences
        self._listeners: list[PreferencesListener] = []

    def add_listener(self, listener: PreferencesListener) -> None:
        """Called after every successful save (e.g. to move the user's reminders in the schedule)."""
        self._listeners.append(listener)

    def get(self, *, user_id: str) -> StoredPreferences:
        """The stored preferences, or the defaults."""
        return self._repo.get(user_id=user_id) or StoredPreferences()

    def replace(self, *, user: UserRecord, preferences: Preferences) -> StoredPreferences:
        """PUT: the whole document (validated by the caller's schema)."""
        return self._save(user=user, change=lambda _current: preferences.model_dump())

    def patch(self, *, user: UserRecord, changes: dict[str, Any]) -> StoredPreferences:
        """PATCH: merge the sent fields (nested notification switches merge too)."""

        def merged(current: StoredPreferences) -> dict[str, Any]:
            data = current.model_dump(exclude={"updated_at", "version"})
            for name, value in changes.items():
                if name == "notifications" and isinstance(value, dict):
                    data["notifications"] = {**data["notifications"], **value}
                else:
                    data[name] = value
            return data

        return self._save(user=user, change=merged)

    def _save(
        self, *, user: UserRecord, change: Callable[[StoredPreferences], dict[str, Any]]
    ) -> StoredPreferences:
        for _ in range(_SAVE_ATTEMPTS):
            current = self._repo.get(user_id=user.user_id)
            base = current or StoredPreferences()
            # Validated again as a whole: a merged document is checked like a PUT body.
            # Validated again as a whole: a merged document is checked like a PUT body.
            updated = StoredPreferences.model_validate(
                {**change(base), "updated_at": utc_now(), "version": base.version + 1}
            )
            try:
                self._repo.put(user_id=user.user_id, preferences=updated, expected_version=base.version)
            except PreferencesChanged:
                continue
            except UserGoneError as exc:
                raise AccountGoneError() from exc
            for listener in self._listeners:
                listener(user, updated)
            return updated
        raise ConflictError("Your preferences changed meanwhile; try again.", code="preferences_changed")
