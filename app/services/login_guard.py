"""Sign-in protection shared by every instance: failures counted per account and per IP.

After `threshold` failures the key is locked for `base_seconds * 2^(extra failures)`,
capped at `max_seconds`; a locked key answers 429 with Retry-After before any password
check. A successful sign-in clears the account's counter (not the IP's).
"""

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.core.errors import RateLimitedError
from app.core.logging import audit
from app.repositories.records import RecordsRepository

FAILURES_KEY = "login-failures"
COUNTER_TTL_SECONDS = 24 * 3600


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int
    base_seconds: int
    max_seconds: int


def lock_seconds(failures: int, policy: LockoutPolicy) -> int:
    """0 below the threshold, then doubling from `base_seconds` up to `max_seconds`."""
    if failures < policy.threshold:
        return 0
    return min(policy.max_seconds, policy.base_seconds * 2 ** (failures - policy.threshold))


def _owner(kind: str, value: str) -> str:
    # Hashed: the records table need not hold raw emails or IPs of strangers.
    return f"login#{kind}#" + hashlib.sha256(value.encode()).hexdigest()[:32]


class LoginGuard:
    def __init__(
        self,
        *,
        counters: RecordsRepository,
        account_policy: LockoutPolicy,
        ip_policy: LockoutPolicy,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._counters = counters
        self._policies = {"account": account_policy, "ip": ip_policy}
        self._clock = clock

    def check(self, *, email: str, ip: str) -> None:
        """429 if the account or the IP is locked out right now."""
        now = self._clock()
        for kind, value in (("account", email), ("ip", ip)):
            record = self._counters.get(owner=_owner(kind, value), key=FAILURES_KEY)
            locked_until = float(record.get("locked_until", 0)) if record else 0.0
            if locked_until > now:
                raise RateLimitedError(
                    "Too many failed sign-ins; wait before trying again.",
                    code="login_locked",
                    retry_after=math.ceil(locked_until - now),
                    details={"scope": kind},
                )

    def record_failure(self, *, email: str, ip: str) -> None:
        now = self._clock()
        for kind, value in (("account", email), ("ip", ip)):
            owner = _owner(kind, value)
            failures = self._counters.increment(
                owner=owner, key=FAILURES_KEY, expires_at_epoch=int(now + COUNTER_TTL_SECONDS)
            )
            seconds = lock_seconds(failures, self._policies[kind])
            if seconds:
                self._counters.put(
                    owner=owner,
                    key=FAILURES_KEY,
                    values={"count": failures, "locked_until": now + seconds},
                    expires_at_epoch=int(now + COUNTER_TTL_SECONDS),
                )
                audit("auth.lockout", scope=kind, failures=failures, seconds=seconds)

    def record_success(self, *, email: str) -> None:
        self._counters.delete(owner=_owner("account", email), key=FAILURES_KEY)
