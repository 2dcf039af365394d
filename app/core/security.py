"""Password hashing (Argon2 via pwdlib), the one email normalisation, and JWTs (PyJWT)."""

import contextlib
import os
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import jwt
from email_validator import EmailNotValidError, validate_email
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pydantic import AfterValidator, PlainSerializer
from ulid import ULID

from app.core.config import Settings
from app.core.errors import AuthenticationError, DependencyUnavailableError

TokenType = Literal["access", "refresh"]

EMAIL_MAX = 254

_password_hash = PasswordHash((Argon2Hasher(),))
# Verifying against this when the email is unknown costs the same time as a real check,
# so response timing does not reveal which emails have accounts.
_DUMMY_HASH = _password_hash.hash("dermalens-timing-equaliser")

# Each Argon2 computation holds 64 MiB: a burst of sign-ins or registrations must queue
# for one of a few slots (one per core by default) rather than take the machine's memory.
# The queue is bounded too: waiting requests hold threads of the pool every sync route
# shares, so past `WAITERS_PER_CORE` per core in a process, or after `_hash_wait_seconds`, the
# answer is a 503. Per core, not per slot: a process that got one of the cores' slots (several
# worker processes) still queues the same burst instead of refusing half of it.
WAITERS_PER_CORE = 8


# Argon2 runs in threads of its own that only get the cores nothing else wants (Linux's
# SCHED_IDLE, inherited by the lanes Argon2 starts; nice +10 where that is refused): under a
# burst of sign-ins the threads answering every other request run first and the hashes take
# what is left, all of it when the rest is idle. nice +10 alone left `/auth/me`'s p99 at
# x1.5-2.1 of idle under 16 sign-ins, SCHED_IDLE x1.1-1.2 (docs/BENCHMARKS.md, session 9). If
# the other work kept both cores busy for longer than the hashing wait, sign-ins would answer
# the 503 "too many sign-ins" instead of slowing every request: the overload answer we chose.
HASH_THREAD_NICENESS = 10


def _lower_priority() -> None:
    native_id = threading.get_native_id()
    with contextlib.suppress(OSError, AttributeError):  # not Linux, or not allowed: same speed as before
        os.setpriority(os.PRIO_PROCESS, native_id, HASH_THREAD_NICENESS)
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(native_id, os.SCHED_IDLE, os.sched_param(0))


class _HashSlots:
    def __init__(self, slots: int, wait_seconds: float) -> None:
        self.slots = slots
        self.wait_seconds = wait_seconds
        self._semaphore = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._waiting = 0
        # One thread per slot: a holder of a slot never waits for a thread.
        self.pool = ThreadPoolExecutor(
            max_workers=slots, thread_name_prefix="argon2", initializer=_lower_priority
        )

    def acquire(self) -> None:
        with self._lock:
            if self._waiting >= WAITERS_PER_CORE * (os.cpu_count() or 1):
                raise _busy()
            self._waiting += 1
        try:
            if not self._semaphore.acquire(timeout=self.wait_seconds):
                raise _busy()
        finally:
            with self._lock:
                self._waiting -= 1

    def release(self) -> None:
        self._semaphore.release()


def _busy() -> DependencyUnavailableError:
    return DependencyUnavailableError(
        "Too many sign-ins are being processed right now; try again in a few seconds."
    )


_hash_slots = _HashSlots(os.cpu_count() or 1, 10.0)


def configure_password_hashing(*, concurrency: int, processes: int = 1, wait_seconds: float = 10.0) -> None:
    """At most `concurrency` hashes at once in this process (0 = the cores shared out between
    `processes` worker processes, at least 1); a caller waits `wait_seconds`, then 503."""
    global _hash_slots
    slots = concurrency or max(1, (os.cpu_count() or 1) // processes)
    previous, _hash_slots = _hash_slots, _HashSlots(slots, wait_seconds)
    previous.pool.shutdown(wait=False)


def _hashing_slot() -> _HashSlots:
    slots = _hash_slots
    slots.acquire()
    return slots


def hash_password(password: str) -> str:
    """Argon2id hash; CPU- and memory-heavy, so it runs in a bounded number of threads."""
    slots = _hashing_slot()
    try:
        return slots.pool.submit(_password_hash.hash, password).result()
    finally:
        slots.release()


def verify_password(password: str, password_hash: str | None) -> bool:
    """Constant-work check; a missing hash still spends the time of a real verify."""
    slots = _hashing_slot()
    try:
        return slots.pool.submit(_verify, password, password_hash).result()
    finally:
        slots.release()


def _verify(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _password_hash.verify(password, _DUMMY_HASH)
        return False
    try:
        return _password_hash.verify(password, password_hash)
    except Exception:  # noqa: BLE001 - a malformed stored hash simply does not match
        return False


def normalise_email(value: str) -> str:
    """The one spelling of an email used as an account key: NFC, IDNA-decoded domain, lower case.

    Every path that takes an email (register, login, token, password reset) uses it, so an
    address typed decomposed, in capitals or with a punycode domain is the same account.
    Raises ValueError when the value is not an email address.
    """
    value = unicodedata.normalize("NFC", value.strip())
    if not value or len(value) > EMAIL_MAX:
        raise ValueError(f"an email address of at most {EMAIL_MAX} characters is required")
    try:
        parsed = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"value is not a valid email address: {exc}") from exc
    return unicodedata.normalize("NFC", parsed.normalized.lower())


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with a `Z`, the one datetime format of the API and the tables."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_iso(moment: str) -> datetime:
    """The inverse of `iso` (timezone-aware)."""
    return datetime.fromisoformat(moment)


def _as_utc(moment: datetime) -> datetime:
    # A naive time in a stored record can only have been UTC (`iso` is the one format).
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# A record's `*_at` field: an aware UTC datetime in the domain, `iso` text whenever the record
# is dumped (DynamoDB items, response bodies, exports), so stored data and the wire keep the `Z` strings.
UtcDateTime = Annotated[datetime, AfterValidator(_as_utc), PlainSerializer(iso, return_type=str)]


_id_lock = threading.Lock()
_last_id = 0


def new_id() -> str:
    """Time-ordered id (ULID), strictly increasing within the process, so key order is creation order."""
    global _last_id
    with _id_lock:
        candidate = int(ULID())
        # Two ids in the same millisecond could otherwise sort in either order.
        _last_id = candidate if candidate > _last_id else _last_id + 1
        return str(ULID.from_int(_last_id))


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    session_id: str
    jti: str
    token_type: TokenType
    expires_at: datetime


class TokenCodec:
    """Issues and checks the service's JWTs."""

    def __init__(self, settings: Settings) -> None:
        self._key = settings.secret_key
        self._algorithm = settings.jwt_algorithm
        self.access_ttl = timedelta(minutes=settings.access_token_minutes)
        self.refresh_ttl = timedelta(days=settings.refresh_token_days)

    def issue(
        self,
        *,
        user_id: str,
        session_id: str,
        token_type: TokenType,
        jti: str | None = None,
        issued_at: int | None = None,
    ) -> tuple[str, TokenClaims]:
        """A signed token; the same claims and `issued_at` give the same token again (refresh retries)."""
        iat = int(time.time()) if issued_at is None else issued_at
        ttl = self.access_ttl if token_type == "access" else self.refresh_ttl
        expires_at = datetime.fromtimestamp(iat, UTC) + ttl
        claims = TokenClaims(user_id, session_id, jti or new_id(), token_type, expires_at)
        payload: dict[str, Any] = {
            "sub": user_id,
            "sid": session_id,
            "jti": claims.jti,
            "typ": token_type,
            "iat": iat,
            "exp": int(expires_at.timestamp()),
        }
        return jwt.encode(payload, self._key, algorithm=self._algorithm), claims

    def decode(self, token: str, *, expected_type: TokenType) -> TokenClaims:
        """Verify signature, expiry and type; any failure is the same 401."""
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[self._algorithm],
                options={"require": ["exp", "iat", "sub", "typ", "jti", "sid"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationError("The token has expired.", code="token_expired") from exc
        except jwt.PyJWTError as exc:
            raise AuthenticationError("The token is not valid.", code="invalid_token") from exc
        if payload.get("typ") != expected_type:
            raise AuthenticationError("The token is not valid.", code="invalid_token")
        return TokenClaims(
            user_id=str(payload["sub"]),
            session_id=str(payload["sid"]),
            jti=str(payload["jti"]),
            token_type=expected_type,
            expires_at=datetime.fromtimestamp(payload["exp"], UTC),
        )
