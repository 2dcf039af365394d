"""Sign-in protection shared by every instance: attempts counted per account and per IP.

An attempt is *admitted* (counted, atomically) before its password is checked, so a burst
of concurrent guesses cannot all slip past a check that has not seen the others: at most
`threshold` attempts are ever evaluated before a lockout. A failure that reaches the
threshold locks the key for `base_seconds * 2^(failures - threshold)` (capped at
`max_seconds`) and then admits one attempt per lock period. Because admissions stop at the
threshold, a burst cannot inflate the lock. A success clears the account's counter and
gives the IP back its attempt.

On top, each account has an hourly budget of failed attempts that does not reset on a
success and does not depend on the client address at all, so neither a spoofed header nor
a pool of addresses buys more guesses at one account.

IPv6 clients are counted per /64 (see `app.core.client_ip.rate_limit_key`).

Cost: an admission is first tried as one transaction over the three counters; only when it
is refused are they taken one at a time (which tells a lockout from a spent budget). A
success's bookkeeping (`success_actions`) rides in the transaction that adds the session.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.auth.login_attempts import LoginAttemptsRepository
from app.core.client_ip import rate_limit_key
from app.core.errors import RateLimitedError
from app.core.logging import audit
from app.db.keys import login_owner

COUNTER_TTL_SECONDS = 24 * 3600
BUDGET_WINDOW_SECONDS = 3600
# An admitted attempt decides within seconds (Argon2 plus a queue for it); one older than
# this was abandoned by a crashed process and no longer holds its slot.
ABANDONED_AFTER_SECONDS = 60


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int
    base_seconds: int
    max_seconds: int


def lock_seconds(failures: int, policy: LockoutPolicy) -> int:
    """0 below the threshold, then doubling from `base_seconds` up to `max_seconds`."""
    if failures < policy.threshold:
        return 0
    return int(min(policy.max_seconds, policy.base_seconds * 2 ** min(failures - policy.threshold, 32)))


@dataclass(frozen=True)
class Ticket:
    """What `admit` counted, so the outcome is recorded against the same keys."""

    owners: dict[str, str]  # scope -> counter owner
    # scope -> this attempt's number in its counter; empty when admitted in one transaction
    # (which returns nothing): a failure then reads the counters.
    attempts: dict[str, int]
    window: str
    now: float


class LoginGuard:
    def __init__(
        self,
        *,
        counters: LoginAttemptsRepository,
        account_policy: LockoutPolicy,
        ip_policy: LockoutPolicy,
        account_failures_per_hour: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._counters = counters
        self._policies = {"account": account_policy, "ip": ip_policy}
        self._budget = account_failures_per_hour
        self._clock = clock

    def admit(self, *, email: str, ip: str) -> Ticket:
        """Count this attempt before any password check; 429 (counting nothing) if refused."""
        now = self._clock()
        bucket = math.floor(now / BUDGET_WINDOW_SECONDS)
        owners = {"account": login_owner("account", email), "ip": login_owner("ip", rate_limit_key(ip))}
        window = str(bucket)
        if self._counters.admit_together(
            owners=owners,
            thresholds={kind: policy.threshold for kind, policy in self._policies.items()},
            budget_owner=owners["account"],
            window=window,
            budget_limit=self._budget,
            budget_expires_at_epoch=int((bucket + 1) * BUDGET_WINDOW_SECONDS + 60),
            now=now,
            stale_before=now - ABANDONED_AFTER_SECONDS,
            expires_at_epoch=int(now + COUNTER_TTL_SECONDS),
        ):
            return Ticket(owners=owners, attempts={}, window=window, now=now)
        # Refused or contended, and nothing was counted: one counter at a time says why.
        if not self._counters.spend_budget(
            owner=owners["account"],
            window=window,
            limit=self._budget,
            expires_at_epoch=int((bucket + 1) * BUDGET_WINDOW_SECONDS + 60),
        ):
            audit("auth.login_budget_exhausted", scope="account")
            raise _locked("account", (bucket + 1) * BUDGET_WINDOW_SECONDS - now)
        attempts: dict[str, int] = {}
        try:
            for kind, owner in owners.items():
                policy = self._policies[kind]
                admission = self._counters.admit(
                    owner=owner,
                    now=now,
                    threshold=policy.threshold,
                    stale_before=now - ABANDONED_AFTER_SECONDS,
                    expires_at_epoch=int(now + COUNTER_TTL_SECONDS),
                )
                if not admission.admitted:
                    wait = admission.locked_until - now
                    if wait <= 0:  # the attempts up to the threshold are still being checked
                        wait = max(1, lock_seconds(admission.attempts, policy))
                    raise _locked(kind, wait)
                attempts[kind] = admission.attempts
        except RateLimitedError:
            # Refused by one scope: the other scopes must not pay for an attempt never made.
            for kind in attempts:
                self._counters.release(owner=owners[kind])
            self._counters.refund_budget(owner=owners["account"], window=window)
            raise
        return Ticket(owners=owners, attempts=attempts, window=window, now=now)

    def failed(self, *, ticket: Ticket) -> None:
        """The password was wrong: the attempt that reached a threshold locks its key."""
        for kind, owner in ticket.owners.items():
            failures = ticket.attempts.get(kind)
            if failures is None:
                failures = self._counters.attempts(owner=owner)
            seconds = lock_seconds(failures, self._policies[kind])
            if seconds:
                self._counters.lock(owner=owner, attempts=failures, locked_until=self._clock() + seconds)
                audit("auth.lockout", scope=kind, failures=failures, seconds=seconds)

    def abandoned(self, *, ticket: Ticket) -> None:
        """The password could not be checked (the server was busy): the attempt never happened."""
        for owner in ticket.owners.values():
            self._counters.release(owner=owner)
        self._counters.refund_budget(owner=ticket.owners["account"], window=ticket.window)

    def success_actions(self, *, ticket: Ticket) -> list[dict[str, Any]]:
        """`succeeded`'s writes as transaction actions, to ride in the write that adds the session."""
        return self._counters.success_actions(
            account_owner=ticket.owners["account"],
            ip_owner=ticket.owners["ip"],
            budget_owner=ticket.owners["account"],
            window=ticket.window,
        )

    def succeeded(self, *, ticket: Ticket) -> None:
        """The right password: the account starts afresh; the IP and the budget get the attempt back."""
        self._counters.clear(owner=ticket.owners["account"])
        self._counters.release(owner=ticket.owners["ip"])
        self._counters.refund_budget(owner=ticket.owners["account"], window=ticket.window)


def _locked(scope: str, wait: float) -> RateLimitedError:
    return RateLimitedError(
        "Too many failed sign-ins; wait before trying again.",
        code="login_locked",
        retry_after=math.ceil(wait),
        details={"scope": scope},
    )
