"""Account lifecycle: email verification, password reset, data export, account deletion."""

import logging
import secrets
import time
from collections.abc import Sequence
from typing import Any

from app.account.models import DeletionRequest, OneTimeToken
from app.account.owners import ImageUrl, UserDataOwner, UsersData
from app.auth.repository import UserRecord, UsersRepository
from app.core.errors import AuthenticationError, BadRequestError
from app.core.logging import audit
from app.core.rate_limit import RateLimiter
from app.core.security import hash_password, iso, utc_now, verify_password
from app.db.keys import (
    ACCOUNT_DELETIONS_PARTITION,
    ONETIME_TOKEN_SK,
    onetime_owner,
    onetime_ref_sk,
    password_reset_owner,
)
from app.db.records import RecordsRepository
from app.providers.mail import Mailer

logger = logging.getLogger("dermalens.account")

DELETIONS_PARTITION = ACCOUNT_DELETIONS_PARTITION  # the name the deletion tests use
TOKEN_KEY = ONETIME_TOKEN_SK


class AccountService:
    """Verification, reset, export and erasure; export and erasure walk the registered owners."""

    def __init__(
        self,
        *,
        users: UsersRepository,
        owners: Sequence[UserDataOwner],
        records: RecordsRepository,
        mailer: Mailer,
        limiter: RateLimiter,
        link_base_url: str,
        token_minutes: int,
        reset_requests_per_hour: int,
    ) -> None:
        self._users = users
        self._owners = list(owners)
        # The account itself is erased last: its user item is what the deletion marker, the
        # tokens and every retry hang on. It is exported first (the profile).
        self._account: UserDataOwner = UsersData(users=users)
        self._records = records
        self._mailer = mailer
        self._limiter = limiter
        self._link_base = link_base_url
        self._token_seconds = token_minutes * 60
        self._reset_per_hour = reset_requests_per_hour

    # ---- single-use tokens ----

    def _issue_token(self, *, user: UserRecord, purpose: str) -> str:
        token = secrets.token_urlsafe(32)
        expires = int(time.time()) + self._token_seconds
        # Only a hash is stored: a leaked table does not hand out working links.
        owner = onetime_owner(token)
        # The ref first: a token item is never left without the ref that lets erasure find it.
        self._records.put(owner=user.user_id, key=onetime_ref_sk(owner), values={}, expires_at_epoch=expires)
        self._records.put_record(
            owner=owner,
            key=TOKEN_KEY,
            record=OneTimeToken(owner_id=user.user_id, purpose=purpose, valid_until=expires),
            expires_at_epoch=expires,
        )
        return token

    def _spend_token(self, *, token: str, purpose: str) -> str:
        """The user id behind a valid token, which is used up by this call."""
        record = self._records.consume_record(owner=onetime_owner(token), key=TOKEN_KEY, model=OneTimeToken)
        if not record or record.purpose != purpose or record.valid_until < time.time():
            raise BadRequestError("This link is invalid, expired or already used.", code="invalid_token")
        return record.owner_id

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
        self._limiter.hit(
            owner=password_reset_owner(email),
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
        self._records.put_record(
            owner=DELETIONS_PARTITION,
            key=user.user_id,
            record=DeletionRequest(email=user.email, requested_at=now),
        )
        self._users.mark_deletion_requested(user_id=user.user_id, requested_at=now)
        audit("account.deletion_requested", user_id=user.user_id)
        self._erase(user_id=user.user_id, email=user.email)

    def delete_on_request(self, *, user: UserRecord, requested_by: str) -> None:
        """Support's deletion (no password): the same marker-first, resumable erasure."""
        now = iso(utc_now())
        self._records.put_record(
            owner=DELETIONS_PARTITION,
            key=user.user_id,
            record=DeletionRequest(email=user.email, requested_at=now),
        )
        self._users.mark_deletion_requested(user_id=user.user_id, requested_at=now)
        audit("account.deletion_requested", user_id=user.user_id, requested_by=requested_by)
        self._erase(user_id=user.user_id, email=user.email)

    def _erase(self, *, user_id: str, email: str) -> None:
        """Every owner's part, the account last, then the marker (a crash before it resumes)."""
        counts: dict[str, int] = {}
        for owner in [*self._owners, self._account]:
            counts.update(owner.erase_user(user_id=user_id, email=email))
        self._records.delete(owner=DELETIONS_PARTITION, key=user_id)
        audit("account.deleted", user_id=user_id, **counts)

    def resume_pending_deletions(self) -> dict[str, int]:
        """Finish deletions a crash interrupted (called at start-up).

        One account's data never stops the start-up: a deletion that fails is logged and
        counted, its marker stays, and the next start (or the user's retry) tries again.
        """
        pending = self._records.records_for(owner=DELETIONS_PARTITION, model=DeletionRequest)
        counts = {"resumed": 0, "failed": 0}
        for user_id, request in pending.items():
            logger.info("resuming account deletion", extra={"user_id": user_id})
            try:
                self._erase(user_id=user_id, email=request.email)
                counts["resumed"] += 1
            except Exception:
                counts["failed"] += 1
                logger.exception("could not finish an account deletion", extra={"user_id": user_id})
        if pending:
            logger.info("pending account deletions", extra=counts)
        return counts

    # ---- export ----

    def export(self, *, user: UserRecord, image_url: ImageUrl) -> dict[str, Any]:
        """Everything stored about the user, as JSON-ready data (no password hash, no token ids)."""
        data: dict[str, Any] = {"exported_at": iso(utc_now())}
        for owner in [self._account, *self._owners]:
            data.update(owner.export_user(user_id=user.user_id, image_url=image_url))
        audit("account.exported", user_id=user.user_id)
        return data
