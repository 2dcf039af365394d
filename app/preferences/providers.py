"""The cloud-AI opt-out: which vision and chat provider serves a given user.

An opted-out user gets the offline providers whatever VISION_PROVIDER / CHAT_PROVIDER say.
When the configured provider is already the local one, no preference is read at all.
"""

from collections.abc import Callable
from typing import Generic, TypeVar

from app.preferences.repository import PreferencesRepository

P = TypeVar("P")


class ProviderSelector(Generic[P]):
    """`for_user(user_id)`: the configured provider, or the local one for an opted-out user."""

    def __init__(
        self,
        *,
        preferences: PreferencesRepository,
        configured: P,
        configured_is_local: bool,
        local: Callable[[], P],
    ) -> None:
        self._preferences = preferences
        self._configured = configured
        self._configured_is_local = configured_is_local
        self._make_local = local
        self._local: P | None = None

    def for_user(self, user_id: str) -> P:
        if self._configured_is_local:
            return self._configured
        stored = self._preferences.get(user_id=user_id)
        if stored is None or not stored.cloud_ai_opt_out:
            return self._configured
        if self._local is None:
            # Built on first use: the local vision models load only if someone opts out.
            self._local = self._make_local()
        return self._local
