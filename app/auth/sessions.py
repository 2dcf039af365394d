"""Refresh-token families: starting one, rotating it with reuse detection, ending it.

A family is one `AuthSession` on the user item. Its tokens are derived deterministically
from the stored jti and issue time, so a client that retries a refresh within the grace
window gets exactly the pair its first attempt produced.
"""

import time
from datetime import datetime
from typing import Any

from app.auth.models import AuthSession, UserRecord
from app.auth.repository import UsersRepository
from app.auth.schemas import TokenPair
from app.core.errors import AuthenticationError, DependencyUnavailableError
from app.core.logging import audit
from app.core.security import TokenClaims, TokenCodec, iso, new_id, utc_now

# A new session's write is retried this often when other sign-ins change the session map.
SESSION_WRITE_ATTEMPTS = 4


class SessionManager:
    """Issues, rotates and revokes refresh families for `AuthService`."""

    def __init__(
        self, *, users: UsersRepository, tokens: TokenCodec, max_sessions: int, refresh_grace_seconds: int
    ) -> None:
        self._users = users
        self._tokens = tokens
        self._max_sessions = max_sessions
        self._grace = refresh_grace_seconds

    def start(self, *, user: UserRecord, user_agent: str) -> TokenPair | None:
        """A new refresh family, if the credentials are still the ones the caller proved; else None."""
        return self.start_with(user=user, user_agent=user_agent, also=[])[0]

    def start_with(
        self, *, user: UserRecord, user_agent: str, also: list[dict[str, Any]]
    ) -> tuple[TokenPair | None, bool]:
        """`start`, writing `also` in the same transaction when it can; returns (pair, also_written).

        `user` may be a slightly stale copy (sign-in reads the email index): the write is
        conditional on the credentials version the password was checked against and on the
        number of sessions the drop list was computed from. When that count is off, the user
        is read again and the write retried; when the credentials changed, None."""
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
        current = user
        for _ in range(SESSION_WRITE_ATTEMPTS):
            added, written = self._users.add_session_with(
                user_id=user.user_id,
                session_id=session_id,
                session=session,
                drop=self._sessions_to_drop(current, utc_now()),
                credentials_version=user.credentials_version,
                session_count=len(current.sessions),
                also=also,
            )
            if added:
                return self._pair_for(user.user_id, session_id, session), written
            fresh = self._users.get(user_id=user.user_id)
            if (
                fresh is None
                or fresh.deletion_requested_at
                or fresh.credentials_version != user.credentials_version
            ):
                return None, False
            current = fresh  # only the sessions changed (another sign-in or a sign-out): again
        raise DependencyUnavailableError("Too many sign-ins on this account at once; try again.")

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

    def end(self, *, refresh_token: str) -> None:
        """End the token's session; an already-ended or expired session is not an error."""
        try:
            claims = self._tokens.decode(refresh_token, expected_type="refresh")
        except AuthenticationError as exc:
            if exc.code == "token_expired":
                return
            raise
        self._users.remove_sessions(user_id=claims.user_id, session_ids=[claims.session_id])
        audit("auth.logout", user_id=claims.user_id)

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
        return TokenPair(
            access_token=access,
            refresh_token=refresh,
            expires_in=int(self._tokens.access_ttl.total_seconds()),
        )

    def _sessions_to_drop(self, user: UserRecord, now: datetime) -> list[str]:
        """Expired families, then the oldest ones beyond the per-user cap."""
        now_iso = iso(now)
        alive = sorted((sid for sid, s in user.sessions.items() if s.expires_at > now_iso))
        expired = [sid for sid in user.sessions if sid not in alive]
        overflow = alive[: max(0, len(alive) - self._max_sessions + 1)]
        return expired + overflow
