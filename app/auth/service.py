"""Accounts and sessions: registration, sign-in, refresh rotation with reuse detection."""

import logging
from typing import Any

from app.auth.login_guard import LoginGuard
from app.auth.models import UserRecord
from app.auth.repository import UsersRepository
from app.auth.schemas import TokenPair
from app.auth.sessions import SessionManager
from app.core.client_ip import rate_limit_key
from app.core.errors import AuthenticationError, BadRequestError, ConflictError, DependencyUnavailableError
from app.core.logging import audit
from app.core.rate_limit import RateLimiter
from app.core.security import (
    TokenClaims,
    TokenCodec,
    hash_password,
    iso,
    new_id,
    normalise_email,
    utc_now,
    verify_password,
)
from app.db.guards import NO_POINTER, TRACKING_CHECKED
from app.db.keys import register_ip_owner

logger = logging.getLogger("dermalens.auth")

INVALID_LOGIN = "Incorrect email or password."


def _signed_in(user: UserRecord | None, claims: TokenClaims, *, allow_pending_deletion: bool) -> UserRecord:
    """The token's user if its account and session still stand; a revoked one is a 401."""
    if user is None or (user.deletion_requested_at and not allow_pending_deletion):
        raise AuthenticationError("This account no longer exists.", code="invalid_token")
    if claims.session_id not in user.sessions:
        raise AuthenticationError("This session has ended; sign in again.", code="session_revoked")
    return user


class AuthService:
    """Everything about who the caller is; routers call it, it calls the users repository."""

    def __init__(
        self,
        *,
        users: UsersRepository,
        tokens: TokenCodec,
        max_sessions: int,
        guard: LoginGuard | None = None,
        limiter: RateLimiter | None = None,
        register_per_ip_per_hour: int = 20,
        refresh_grace_seconds: int = 30,
    ) -> None:
        self._guard = guard
        self._users = users
        self._tokens = tokens
        self._limiter = limiter
        self._register_per_hour = register_per_ip_per_hour
        self._sessions = SessionManager(
            users=users, tokens=tokens, max_sessions=max_sessions, refresh_grace_seconds=refresh_grace_seconds
        )

    def register(
        self,
        *,
        email: str,
        password: str,
        profile: dict[str, Any],
        user_agent: str = "",
        client_ip: str = "unknown",
    ) -> tuple[UserRecord, TokenPair]:
        """Create the account (atomic email uniqueness) and sign it in; registrations per IP are limited."""
        if self._limiter:
            # Counted before the Argon2 hash: a flood of sign-ups must not buy CPU and memory.
            self._limiter.hit(
                owner=register_ip_owner(rate_limit_key(client_ip)),
                name="register",
                limit=self._register_per_hour,
                window_seconds=3600,
                message="Too many accounts were created from this address; try again later.",
            )
        try:
            email = normalise_email(email)
        except ValueError as exc:
            raise BadRequestError(str(exc), code="invalid_email") from exc
        now = iso(utc_now())
        user = UserRecord(
            user_id=new_id(),
            email=email,
            password_hash=hash_password(password),
            created_at=now,
            updated_at=now,
            # A new account has no optional-feature data yet: readers need not look for any.
            tracking=[TRACKING_CHECKED],
            latest_scan_id=NO_POINTER,
            current_plan_id=NO_POINTER,
            **{k: v for k, v in profile.items() if v is not None},
        )
        self._users.create(user=user)
        audit("user.registered", user_id=user.user_id)
        pair = self._sessions.start(user=user, user_agent=user_agent)
        if pair is None:
            raise AuthenticationError("This account no longer exists.", code="invalid_token")
        return user, pair

    def login(
        self, *, email: str, password: str, user_agent: str = "", client_ip: str = "unknown"
    ) -> tuple[UserRecord, TokenPair]:
        """Same 401 for an unknown email and a wrong password; repeated failures lock out (429)."""
        try:
            email = normalise_email(email)
        except ValueError:
            email = ""  # not an address: no account can match, but the attempt still counts
        ticket = self._guard.admit(email=email or "(not an email)", ip=client_ip) if self._guard else None
        try:
            user, valid = self._check_password(email=email, password=password)
        except DependencyUnavailableError:
            # Too many hashes queued (503): an attempt that was never checked must not count
            # towards a lockout, or a busy server would lock its users out.
            if self._guard and ticket:
                self._guard.abandoned(ticket=ticket)
            raise
        if not valid or user is None or user.deletion_requested_at:
            audit("auth.login_failed", email_known=user is not None, client_ip=client_ip)
            if self._guard and ticket:
                self._guard.failed(ticket=ticket)
            raise AuthenticationError(INVALID_LOGIN, code="invalid_credentials")
        also = self._guard.success_actions(ticket=ticket) if self._guard and ticket else []
        pair, counted = self._sessions.start_with(user=user, user_agent=user_agent, also=also)
        if self._guard and ticket and not counted:
            self._guard.succeeded(ticket=ticket)
        if pair is None:
            # The password was changed (or the account deleted) after we verified it:
            # what the caller knew is no longer the password.
            audit("auth.login_lost_to_password_change", user_id=user.user_id, client_ip=client_ip)
            raise AuthenticationError(INVALID_LOGIN, code="invalid_credentials")
        audit("auth.login", user_id=user.user_id, client_ip=client_ip)
        return user, pair

    def _check_password(self, *, email: str, password: str) -> tuple[UserRecord | None, bool]:
        """The account and whether the password is its own: exactly one Argon2 check per attempt
        (two only when the index's copy of the account was older than a password change).

        The email index answers in one read; its copy can lag a moment behind the table, so a
        fresh registration falls back to the guard item, and a mismatch is checked against the
        current item before it counts as a failure. A stale match is caught by the session
        write, which is conditional on the credentials version that was verified."""
        if not email:
            return None, False
        user = self._users.find_by_email(email=email)
        if user is None:
            user = self._users.get_by_email(email=email)
            return user, verify_password(password, user.password_hash if user else None)
        if verify_password(password, user.password_hash):
            return user, True
        fresh = self._users.get(user_id=user.user_id)
        if fresh is None or fresh.password_hash == user.password_hash:
            return fresh, False
        return fresh, verify_password(password, fresh.password_hash)

    def refresh(self, *, refresh_token: str) -> TokenPair:
        """Rotate the refresh token (reuse revokes the family; see `SessionManager.refresh`)."""
        return self._sessions.refresh(refresh_token=refresh_token)

    def logout(self, *, refresh_token: str) -> None:
        """End the token's session; an already-ended or expired session is not an error."""
        self._sessions.end(refresh_token=refresh_token)

    def authenticate(
        self, *, access_token: str, allow_pending_deletion: bool = False
    ) -> tuple[UserRecord, TokenClaims]:
        """The user behind a bearer token; a revoked session or deleted account is a 401."""
        claims = self._tokens.decode(access_token, expected_type="access")
        user = self._users.get(user_id=claims.user_id)
        return _signed_in(user, claims, allow_pending_deletion=allow_pending_deletion), claims

    async def authenticate_async(
        self, *, access_token: str, allow_pending_deletion: bool = False
    ) -> tuple[UserRecord, TokenClaims]:
        """`authenticate` on the event loop (the user read without a worker thread)."""
        claims = self._tokens.decode(access_token, expected_type="access")
        user = await self._users.get_async(user_id=claims.user_id)
        return _signed_in(user, claims, allow_pending_deletion=allow_pending_deletion), claims

    def update_profile(self, *, user: UserRecord, changes: dict[str, Any]) -> UserRecord:
        if not changes:
            return user
        return self._users.update_profile(user_id=user.user_id, changes=changes, updated_at=iso(utc_now()))

    def change_password(
        self, *, user: UserRecord, current_session_id: str, current_password: str, new_password: str
    ) -> None:
        """Check the current password, store the new one, revoke every other session."""
        if not verify_password(current_password, user.password_hash):
            raise AuthenticationError("The current password is not correct.", code="invalid_credentials")
        if current_password == new_password:
            raise BadRequestError(
                "The new password must differ from the current one.", code="password_unchanged"
            )
        changed = self._users.set_password(
            user_id=user.user_id,
            password_hash=hash_password(new_password),
            changed_at=iso(utc_now()),
            keep_session_id=current_session_id,
            expected_version=user.credentials_version,
        )
        if not changed:
            # Someone else changed or reset the password after we checked the current one.
            raise ConflictError(
                "The password was changed meanwhile; sign in with the new one.", code="password_changed"
            )
        audit("auth.password_changed", user_id=user.user_id)
