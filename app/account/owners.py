"""Who holds a user's data: one `UserDataOwner` per domain, walked by account export and erasure.

A new domain plugs in by providing an owner (here, or beside its repository) and registering
it in `app/bootstrap.py`; the account service needs no edit. Each adapter wraps its domain's
existing whole-user reads and deletes, so the domains' own code stays as it is.
"""

import logging
from collections.abc import Callable
from typing import Any, Protocol

from app.auth.repository import UsersRepository
from app.chat.repository import ChatRepository
from app.db.keys import (
    ONETIME_REF_PREFIX,
    ONETIME_TOKEN_SK,
    login_owner,
    onetime_owner_from_ref,
    password_reset_owner,
)
from app.db.records import RecordsRepository
from app.db.repository import TransactionCancelled
from app.plans.repository import PlansRepository
from app.providers.storage.base import ImageStorage
from app.scans.repository import ScansRepository
from app.scans.service import user_prefixes

logger = logging.getLogger("dermalens.account")

ImageUrl = Callable[[str], str]


class UserDataOwner(Protocol):
    """A domain's part of a user's data: what export shows and what erasure removes."""

    name: str

    def erase_user(self, *, user_id: str, email: str) -> dict[str, int]:
        """Remove everything the domain holds about the user (safe to repeat); counts by kind."""
        ...

    def export_user(self, *, user_id: str, image_url: ImageUrl) -> dict[str, Any]:
        """The user's data as JSON-ready top-level sections of the export."""
        ...


class ScansData:
    """Scans and their photos (the photo layout is the scans domain's `user_prefixes`)."""

    name = "scans"

    def __init__(self, *, scans: ScansRepository, storage: ImageStorage) -> None:
        self._scans = scans
        self._storage = storage

    def erase_user(self, *, user_id: str, email: str) -> dict[str, int]:
        """Photos first, then the scan items and their job and expiry markers."""
        images = sum(self._storage.delete_prefix(prefix=p) for p in user_prefixes(user_id))
        return {"images": images, "scans": self._scans.delete_all(user_id=user_id)}

    def export_user(self, *, user_id: str, image_url: ImageUrl) -> dict[str, Any]:
        """Every scan, with short-lived links to its photos."""
        scans = []
        for scan in self._scans.all_for_user(user_id=user_id):
            data = scan.model_dump(exclude={"upload_keys", "idempotency_key"})
            data["image_urls"] = {angle: image_url(key) for angle, key in scan.image_keys.items()}
            scans.append(data)
        return {"scans": scans}


class PlansData:
    """Treatment plans with their check-ins, and the plan slot."""

    name = "plans"

    def __init__(self, *, plans: PlansRepository) -> None:
        self._plans = plans

    def erase_user(self, *, user_id: str, email: str) -> dict[str, int]:
        """Every plan and the slot."""
        return {"plans": self._plans.delete_all(user_id=user_id)}

    def export_user(self, *, user_id: str, image_url: ImageUrl) -> dict[str, Any]:
        """Every plan, check-ins included."""
        return {"plans": [p.model_dump() for p in self._plans.all_for_user(user_id=user_id)]}


class ChatData:
    """Chat sessions and messages."""

    name = "chat"

    def __init__(self, *, chat: ChatRepository) -> None:
        self._chat = chat

    def erase_user(self, *, user_id: str, email: str) -> dict[str, int]:
        """Every session summary and message."""
        return {"chat_items": self._chat.delete_all(user_id=user_id)}

    def export_user(self, *, user_id: str, image_url: ImageUrl) -> dict[str, Any]:
        """Sessions and messages, without the table's internal keys."""
        chat = self._chat.all_items(user_id=user_id)
        return {
            "chat": {
                "sessions": [_public(i) for i in chat if i.get("item_type") == "session"],
                "messages": [_public(i) for i in chat if i.get("item_type") == "message"],
            }
        }


class RecordsData:
    """The records table: the user's partition, their outstanding single-use tokens, and the
    counters kept about their email (sign-in attempts, password-reset requests)."""

    name = "records"

    def __init__(self, *, records: RecordsRepository) -> None:
        self._records = records

    def erase_user(self, *, user_id: str, email: str) -> dict[str, int]:
        """Tokens (found through their refs) first, then the email's counters and the partition."""
        refs = [
            i for i in self._records.all_for(owner=user_id) if str(i["sk"]).startswith(ONETIME_REF_PREFIX)
        ]
        for ref in refs:
            self._records.delete(owner=onetime_owner_from_ref(str(ref["sk"])), key=ONETIME_TOKEN_SK)
        if email:
            self._records.delete_partition(owner=login_owner("account", email))
            self._records.delete_partition(owner=password_reset_owner(email))
        return {"records": self._records.delete_partition(owner=user_id)}

    def export_user(self, *, user_id: str, image_url: ImageUrl) -> dict[str, Any]:
        """Nothing: counters, guards and tokens are bookkeeping, not the user's content."""
        return {}


class UsersData:
    """The account itself: profile, sessions, and the email guard. Always erased last."""

    name = "users"

    def __init__(self, *, users: UsersRepository) -> None:
        self._users = users

    def erase_user(self, *, user_id: str, email: str) -> dict[str, int]:
        """The user item and its email guard, together."""
        try:
            self._users.delete(user_id=user_id, email=email)
        except TransactionCancelled:
            # The email guard belongs to someone else: the account was already removed (with
            # its guard) and the email registered again before the deletion marker was
            # cleared. The new account must stay; only a still-present old user item is an error.
            if self._users.get(user_id=user_id) is not None:
                raise
            logger.info(
                "account already deleted; its email belongs to a new account", extra={"user_id": user_id}
            )
        return {}

    def export_user(self, *, user_id: str, image_url: ImageUrl) -> dict[str, Any]:
        """The profile (no password hash) and the sessions (no token ids)."""
        user = self._users.get(user_id=user_id)
        if user is None:
            return {"profile": None, "sessions": []}
        return {
            "profile": user.model_dump(
                exclude={"password_hash", "sessions", "tracking", "latest_scan_id", "current_plan_id"}
            ),
            "sessions": [
                {"created_at": s.created_at, "expires_at": s.expires_at, "user_agent": s.user_agent}
                for s in user.sessions.values()
            ],
        }


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in {"user_id", "session_key", "item_type"}}
