"""Account lifecycle: email verification, password reset, data export, account deletion."""

import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from app.auth.repository import UserRecord, UsersRepository
from app.chat.repository import ChatRepository
from app.core.errors import AuthenticationError, BadRequestError
from app.core.logging import audit
from app.core.rate_limit import RateLimiter
from app.core.security import hash_password, iso, utc_now, verify_password
from app.db.records import RecordsRepository
from app.db.repository import TransactionCancelled
from app.plans.repository import PlansRepository
from app.providers.mail import Mailer
from app.providers.storage.base import ImageStorage
from app.scans.repository import ScansRepository
from app.scans.service import user_prefixes

logger = logging.getLogger("dermalens.account")

DELETIONS_PARTITION = "system#account-deletions"
TOKEN_KEY = "token"


def _token_owner(token: str) -> str:
    # Only a hash is stored: a leaked table does not hand out working links.
    return "onetime#" + hashlib.sha256(token.encode()).hexdigest()


class AccountService:
    def __init__(
        self,
        *,
        users: UsersRepository,
        scans: ScansRepository,
        plans: PlansRepository,
        chat: ChatRepository,
        records: RecordsRepository,
        storage: ImageStorage,
        mailer: Mailer,
        limiter: RateLimiter,
        link_base_url: str,
        token_minutes: int,
        reset_requests_per_hour: int,
    ) -> None:
        self._users = users
        self._scans = scans
        self._plans = plans
        self._chat = chat
        self._records = records
        self._storage = storage
        self._mailer = mailer
        self._limiter = limiter
        self._link_base = link_base_url
        self._token_seconds = token_minutes * 60
        self._reset_per_hour = reset_requests_per_hour

    # ---- single-use tokens ----

    def _issue_token(self, *, user: UserRecord, purpose: str) -> str:
        token = secrets.token_urlsafe(32)
        expires = int(time.time()) + self._token_seconds
        self._records.put(
            owner=_token_owner(token),
            key=TOKEN_KEY,
            values={"owner_id": user.user_id, "purpose": purpose, "valid_until": expires},
            expires_at_epoch=expires,
        )
        return token

    def _spend_token(self, *, token: str, purpose: str) -> str:
        """The user id behind a valid token, which is used up by this call."""
        record = self._records.consume(owner=_token_owner(token), key=TOKEN_KEY)
        if not record or record.get("purpose") != purpose or int(record.get("valid_until", 0)) < time.time():
            raise BadRequestError("This link is invalid, expired or already used.", code="invalid_token")
        return str(record["owner_id"])

    # ---- email verification ----

    def request_email_verification(self, *, user: UserRecord) -> None:
        if user.email_verified:
            return
        self._limiter.hit(
            owner=user.user_id, name="verify_email", limit=self._reset_per_hour, window_seconds=3600
        )
        token = self._issue_token(user=user, purpose="verify_email")
        self._mailer.send(
            to=user.email,
            subject="Confirm your DermaLens email",
            body=f"Open this link to confirm your email:\n{self._link_base}verify-email?token={token}\n",
        )

    def confirm_email_verification(self, *, token: str) -> None:
        user_id = self._spend_token(token=token, purpose="verify_email")
        if not self._users.set_email_verified(user_id=user_id, verified_at=iso(utc_now())):
            # The account was deleted after the link was mailed: the link is simply dead.
            raise BadRequestError("This link is invalid, expired or already used.", code="invalid_token")
        audit("account.email_verified", user_id=user_id)

    # ---- password reset ----

    def request_password_reset(self, *, email: str) -> None:
        """Same outcome whether or not the email has an account (no account enumeration)."""
        email_hash = hashlib.sha256(email.encode()).hexdigest()[:32]
        self._limiter.hit(
            owner=f"reset#{email_hash}",
            name="password_reset",
            limit=self._reset_per_hour,
            window_seconds=3600,
        )
        user = self._users.get_by_email(email=email)
        if user is None or user.deletion_requested_at:
            audit("account.password_reset_requested", email_known=False)
            return
        token = self._issue_token(user=user, purpose="password_reset")
        self._mailer.send(
            to=user.email,
            subject="Reset your DermaLens password",
            body=f"Open this link to choose a new password (valid {self._token_seconds // 60} min):\n"
            f"{self._link_base}reset-password?token={token}\nIf you did not ask for this, ignore this mail.\n",
        )
        audit("account.password_reset_requested", user_id=user.user_id, email_known=True)

    def confirm_password_reset(self, *, token: str, new_password: str) -> None:
        """Set the new password and sign out every session."""
        user_id = self._spend_token(token=token, purpose="password_reset")
        self._users.set_password(
            user_id=user_id,
            password_hash=hash_password(new_password),
            changed_at=iso(utc_now()),
            keep_session_id=None,
        )
        audit("account.password_reset", user_id=user_id)

    # ---- deletion ----

    def delete_account(self, *, user: UserRecord, password: str) -> None:
        """Remove everything; tokens stop working with the first write, and a retry finishes the job."""
        if not verify_password(password, user.password_hash):
            raise AuthenticationError("The password is not correct.", code="invalid_credentials")
        now = iso(utc_now())
        self._records.put(
            owner=DELETIONS_PARTITION, key=user.user_id, values={"email": user.email, "requested_at": now}
        )
        self._users.mark_deletion_requested(user_id=user.user_id, requested_at=now)
        audit("account.deletion_requested", user_id=user.user_id)
        self._erase(user_id=user.user_id, email=user.email)

    def _erase(self, *, user_id: str, email: str) -> None:
        counts = {
            "images": sum(self._storage.delete_prefix(prefix=p) for p in user_prefixes(user_id)),
            "scans": self._scans.delete_all(user_id=user_id),
            "plans": self._plans.delete_all(user_id=user_id),
            "chat_items": self._chat.delete_all(user_id=user_id),
            "records": self._records.delete_partition(owner=user_id),
        }
        try:
            self._users.delete(user_id=user_id, email=email)
        except TransactionCancelled:
            # The email guard belongs to someone else: the account was already removed (with
            # its guard) and the email registered again before this marker was cleared. The
            # new account must stay; only a still-present old user item would be an error.
            if self._users.get(user_id=user_id) is not None:
                raise
            logger.info(
                "account already deleted; its email belongs to a new account", extra={"user_id": user_id}
            )
        self._records.delete(owner=DELETIONS_PARTITION, key=user_id)
        audit("account.deleted", user_id=user_id, **counts)

    def resume_pending_deletions(self) -> dict[str, int]:
        """Finish deletions a crash interrupted (called at start-up).

        One account's data never stops the start-up: a deletion that fails is logged and
        counted, its marker stays, and the next start (or the user's retry) tries again.
        """
        pending = self._records.all_for(owner=DELETIONS_PARTITION)
        counts = {"resumed": 0, "failed": 0}
        for item in pending:
            user_id = str(item["sk"])
            logger.info("resuming account deletion", extra={"user_id": user_id})
            try:
                self._erase(user_id=user_id, email=str(item.get("email", "")))
                counts["resumed"] += 1
            except Exception:
                counts["failed"] += 1
                logger.exception("could not finish an account deletion", extra={"user_id": user_id})
        if pending:
            logger.info("pending account deletions", extra=counts)
        return counts

    # ---- export ----

    def export(self, *, user: UserRecord, image_url: Callable[[str], str]) -> dict[str, Any]:
        """Everything stored about the user, as JSON-ready data (no password hash, no token ids)."""
        profile = user.model_dump(exclude={"password_hash", "sessions"})
        sessions = [
            {"created_at": s.created_at, "expires_at": s.expires_at, "user_agent": s.user_agent}
            for s in user.sessions.values()
        ]
        scans = []
        for scan in self._scans.all_for_user(user_id=user.user_id):
            data = scan.model_dump(exclude={"upload_keys", "idempotency_key"})
            data["image_urls"] = {angle: image_url(key) for angle, key in scan.image_keys.items()}
            scans.append(data)
        chat = self._chat.all_items(user_id=user.user_id)
        audit("account.exported", user_id=user.user_id)
        return {
            "exported_at": iso(utc_now()),
            "profile": profile,
            "sessions": sessions,
            "scans": scans,
            "plans": [p.model_dump() for p in self._plans.all_for_user(user_id=user.user_id)],
            "chat": {
                "sessions": [_public(i) for i in chat if i.get("item_type") == "session"],
                "messages": [_public(i) for i in chat if i.get("item_type") == "message"],
            },
        }


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in {"user_id", "session_key", "item_type"}}
