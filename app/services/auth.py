"""Accounts and sessions: registration, sign-in, refresh rotation with reuse detection."""

import logging
from datetime import datetime
from typing import Any

from app.core.errors import AuthenticationError, BadRequestError
from app.core.logging import audit
from app.core.security import (
    TokenClaims,
    TokenCodec,
    hash_password,
    iso,
    new_id,
    utc_now,
    verify_password,
)
from app.repositories.users import AuthSession, UserRecord, UsersRepository
from app.schemas.auth import TokenPair
from app.services.login_guard import LoginGuard

logger = logging.getLogger("dermalens.auth")

INVALID_LOGIN = "Incorrect email or password."


class AuthService:
    """Everything about who the caller is; routers call it, it calls the users repository."""

    def __init__(
        self,
        *,
        users: UsersRepository,
        tokens: TokenCodec,
        max_sessions: int,
        guard: LoginGuard | None = None,
    ) -> None:
        self._guard = guard
        self._users = users
        self._tokens = tokens
        self._max_sessions = max_sessions

    def register(
        self, *, email: str, password: str, profile: dict[str, Any], user_agent: str = ""
    ) -> tuple[UserRecord, TokenPair]:
        """Create the account (atomic email uniqueness) and sign it in."""
        now = iso(utc_now())
        user = UserRecord(
            user_id=new_id(),
            email=email,
            password_hash=hash_password(password),
            created_at=now,
            updated_at=now,
            **{k: v for k, v in profile.items() if v is not None},
        )
        self._users.create(user=user)
        audit("user.registered", user_id=user.user_id)
        return user, self._start_session(user, user_agent)

    def login(
        self, *, email: str, password: str, user_agent: str = "", client_ip: str = "unknown"
    ) -> tuple[UserRecord, TokenPair]:
        """Same 401 for an unknown email and a wrong password; repeated failures lock out (429)."""
        email = email.strip().lower()
        if self._guard:
            self._guard.check(email=email, ip=client_ip)
        user = self._users.get_by_email(email=email)
        valid = verify_password(password, user.password_hash if user else None)
        if not valid or user is None or user.deletion_requested_at:
            audit("auth.login_failed", email_known=user is not None, client_ip=client_ip)
            if self._guard:
                self._guard.record_failure(email=email, ip=client_ip)
            raise AuthenticationError(INVALID_LOGIN, code="invalid_credentials")
        if self._guard:
            self._guard.record_success(email=email)
        audit("auth.login", user_id=user.user_id, client_ip=client_ip)
        return user, self._start_session(user, user_agent)

    def refresh(self, *, refresh_token: str) -> TokenPair:
        """Rotate: the presented token is spent; a spent token revokes its whole family."""
        claims = self._tokens.decode(refresh_token, expected_type="refresh")
        user = self._users.get(user_id=claims.user_id)
        if user is None or user.deletion_requested_at:
            raise AuthenticationError("The token is not valid.", code="invalid_token")
        session = user.sessions.get(claims.session_id)
        if session is None:
            raise AuthenticationError("This session has ended; sign in again.", code="session_revoked")
        new_jti = new_id()
        refresh, refresh_claims = self._tokens.issue(
            user_id=user.user_id, session_id=claims.session_id, token_type="refresh", jti=new_jti
        )
        rotated = session.current_jti == claims.jti and self._users.rotate_session(
            user_id=user.user_id,
            session_id=claims.session_id,
            old_jti=claims.jti,
            new_jti=new_jti,
            expires_at=iso(refresh_claims.expires_at),
        )
        if not rotated:
            self._users.remove_sessions(user_id=user.user_id, session_ids=[claims.session_id])
            audit("auth.refresh_reuse_detected", user_id=user.user_id, session_id=claims.session_id)
            raise AuthenticationError(
                "This refresh token was already used; the session has been revoked. Sign in again.",
                code="refresh_token_reused",
            )
        access, _ = self._tokens.issue(
            user_id=user.user_id, session_id=claims.session_id, token_type="access"
        )
        return self._pair(access, refresh)

    def logout(self, *, refresh_token: str) -> None:
        """End the token's session; an already-ended or expired session is not an error."""
        try:
            claims = self._tokens.decode(refresh_token, expected_type="refresh")
        except AuthenticationError as exc:
            if exc.code == "token_expired":
                return
            raise
        self._users.remove_sessions(user_id=claims.user_id, session_ids=[claims.session_id])
        audit("auth.logout", user_id=claims.user_id)

    def authenticate(
        self, *, access_token: str, allow_pending_deletion: bool = False
    ) -> tuple[UserRecord, TokenClaims]:
        """The user behind a bearer token; a revoked session or deleted account is a 401."""
        claims = self._tokens.decode(access_token, expected_type="access")
        user = self._users.get(user_id=claims.user_id)
        if user is None or (user.deletion_requested_at and not allow_pending_deletion):
            raise AuthenticationError("This account no longer exists.", code="invalid_token")
        if claims.session_id not in user.sessions:
            raise AuthenticationError("This session has ended; sign in again.", code="session_revoked")
        return user, claims

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
        self._users.set_password(
            user_id=user.user_id,
            password_hash=hash_password(new_password),
            changed_at=iso(utc_now()),
            keep_session_id=current_session_id,
        )
        audit("auth.password_changed", user_id=user.user_id)

    def _start_session(self, user: UserRecord, user_agent: str) -> TokenPair:
        session_id = new_id()
        refresh, refresh_claims = self._tokens.issue(
            user_id=user.user_id, session_id=session_id, token_type="refresh"
        )
        access, _ = self._tokens.issue(user_id=user.user_id, session_id=session_id, token_type="access")
        now = utc_now()
        self._users.add_session(
            user_id=user.user_id,
            session_id=session_id,
            session=AuthSession(
                current_jti=refresh_claims.jti,
                created_at=iso(now),
                expires_at=iso(refresh_claims.expires_at),
                user_agent=user_agent[:200],
            ),
            drop=self._sessions_to_drop(user, now),
        )
        return self._pair(access, refresh)

    def _sessions_to_drop(self, user: UserRecord, now: datetime) -> list[str]:
        """Expired families, then the oldest ones beyond the per-user cap."""
        now_iso = iso(now)
        alive = sorted((sid for sid, s in user.sessions.items() if s.expires_at > now_iso))
        expired = [sid for sid in user.sessions if sid not in alive]
        overflow = alive[: max(0, len(alive) - self._max_sessions + 1)]
        return expired + overflow

    def _pair(self, access: str, refresh: str) -> TokenPair:
        return TokenPair(
            access_token=access,
            refresh_token=refresh,
            expires_in=int(self._tokens.access_ttl.total_seconds()),
        )
