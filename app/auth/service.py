"""Accounts and sessions: registration, sign-in, refresh rotation with reuse detection."""

import hashlib
import logging
import time
from datetime import datetime
from typing import Any

from app.auth.login_guard import LoginGuard
from app.auth.repository import AuthSession, UserRecord, UsersRepository
from app.auth.schemas import TokenPair
from app.core.client_ip import rate_limit_key
from app.core.errors import AuthenticationError, BadRequestError, ConflictError
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
        limiter: RateLimiter | None = None,
        register_per_ip_per_hour: int = 20,
        refresh_grace_seconds: int = 30,
    ) -> None:
        self._guard = guard
        self._users = users
        self._tokens = tokens
        self._max_sessions = max_sessions
        self._limiter = limiter
        self._register_per_hour = register_per_ip_per_hour
        self._grace = refresh_grace_seconds

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
            address = hashlib.sha256(rate_limit_key(client_ip).encode()).hexdigest()[:32]
            self._limiter.hit(
                owner=f"register#ip#{address}",
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
            **{k: v for k, v in profile.items() if v is not None},
        )
        self._users.create(user=user)
        audit("user.registered", user_id=user.user_id)
        pair = self._start_session(user, user_agent)
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
        user = self._users.get_by_email(email=email) if email else None
        valid = bool(email) and verify_password(password, user.password_hash if user else None)
        if not valid or user is None or user.deletion_requested_at:
            audit("auth.login_failed", email_known=user is not None, client_ip=client_ip)
            if self._guard and ticket:
                self._guard.failed(ticket=ticket)
            raise AuthenticationError(INVALID_LOGIN, code="invalid_credentials")
        if self._guard and ticket:
            self._guard.succeeded(ticket=ticket)
        pair = self._start_session(user, user_agent)
        if pair is None:
            # The password was changed (or the account deleted) after we verified it:
            # what the caller knew is no longer the password.
            audit("auth.login_lost_to_password_change", user_id=user.user_id, client_ip=client_ip)
            raise AuthenticationError(INVALID_LOGIN, code="invalid_credentials")
        audit("auth.login", user_id=user.user_id, client_ip=client_ip)
        return user, pair

    def refresh(self, *, refresh_token: str) -> TokenPair:
        """Rotate: the presented token is spent; a spent token revokes its whole family, except
        that a retry within the grace window gets the pair its first use produced."""
        claims = self._tokens.decode(refresh_token, expected_type="refresh")
        for _ in range(2):
            user = self._users.get(user_id=claims.user_id)
            if user is None or user.deletion_requested_at:
                raise AuthenticationError("The token is not valid.", code="invalid_token")
            session = user.sessions.get(claims.session_id)
            if session is None:
                raise AuthenticationError("This session has ended; sign in again.", code="session_revoked")
            if session.current_jti == claims.jti:
                pair = self._rotate(user, claims, session)
                if pair is not None:
                    return pair
                continue  # a concurrent refresh of this token won the swap: read what it wrote
            if self._within_grace(session, claims.jti):
                return self._pair_for(user.user_id, claims.session_id, session)
            break
        self._users.remove_sessions(user_id=claims.user_id, session_ids=[claims.session_id])
        audit("auth.refresh_reuse_detected", user_id=claims.user_id, session_id=claims.session_id)
        raise AuthenticationError(
            "This refresh token was already used; the session has been revoked. Sign in again.",
            code="refresh_token_reused",
        )

    def _rotate(self, user: UserRecord, claims: TokenClaims, session: AuthSession) -> TokenPair | None:
        issued_at = int(time.time())
        new_jti = new_id()
        expires = self._tokens.issue(
            user_id=user.user_id,
            session_id=claims.session_id,
            token_type="refresh",
            jti=new_jti,
            issued_at=issued_at,
        )[1].expires_at
        rotated = self._users.rotate_session(
            user_id=user.user_id,
            session_id=claims.session_id,
            old_jti=claims.jti,
            new_jti=new_jti,
            expires_at=iso(expires),
            issued_at=issued_at,
        )
        if not rotated:
            return None
        return self._pair_for(
            user.user_id,
            claims.session_id,
            session.model_copy(update={"current_jti": new_jti, "issued_at": issued_at}),
        )

    def _within_grace(self, session: AuthSession, jti: str) -> bool:
        return (
            self._grace > 0
            and session.previous_jti == jti
            and session.issued_at is not None
            and time.time() - session.issued_at <= self._grace
        )

    def _pair_for(self, user_id: str, session_id: str, session: AuthSession) -> TokenPair:
        """The session's current pair; deterministic, so a retry gets exactly the same tokens."""
        refresh, _ = self._tokens.issue(
            user_id=user_id,
            session_id=session_id,
            token_type="refresh",
            jti=session.current_jti,
            issued_at=session.issued_at,
        )
        access, _ = self._tokens.issue(
            user_id=user_id,
            session_id=session_id,
            token_type="access",
            jti=session.current_jti + ".a",
            issued_at=session.issued_at,
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

    def _start_session(self, user: UserRecord, user_agent: str) -> TokenPair | None:
        """A new refresh family, if the credentials are still the ones the caller proved; else None."""
        session_id = new_id()
        issued_at = int(time.time())
        jti = new_id()
        expires = self._tokens.issue(
            user_id=user.user_id, session_id=session_id, token_type="refresh", jti=jti, issued_at=issued_at
        )[1].expires_at
        session = AuthSession(
            current_jti=jti,
            created_at=iso(utc_now()),
            expires_at=iso(expires),
            user_agent=user_agent[:200],
            issued_at=issued_at,
        )
        added = self._users.add_session(
            user_id=user.user_id,
            session_id=session_id,
            session=session,
            drop=self._sessions_to_drop(user, utc_now()),
            credentials_version=user.credentials_version,
        )
        return self._pair_for(user.user_id, session_id, session) if added else None

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
