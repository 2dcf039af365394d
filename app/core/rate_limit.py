"""Fixed-window rate limits and quotas on DynamoDB counters (shared by every instance)."""

import math
import time
from collections.abc import Callable
from typing import Protocol

from app.core.errors import RateLimitedError


class CounterStore(Protocol):
    """Shared atomic counters (the records table implements it); core stays below db."""

    def increment(self, *, owner: str, key: str, expires_at_epoch: int, by: int = 1) -> int: ...


class RateLimiter:
    """`hit` counts one use of `name` by `owner` and refuses it past `limit` per window."""

    def __init__(self, *, counters: CounterStore, clock: Callable[[], float] = time.time) -> None:
        self._counters = counters
        self._clock = clock

    def hit(
        self, *, owner: str, name: str, limit: int, window_seconds: int, message: str | None = None
    ) -> int:
        """Returns the count in this window; raises 429 with Retry-After when over the limit."""
        now = self._clock()
        bucket = math.floor(now / window_seconds)
        window_end = (bucket + 1) * window_seconds
        count = self._counters.increment(
            owner=owner, key=f"ratelimit#{name}#{bucket}", expires_at_epoch=int(window_end + 60)
        )
        if count > limit:
            raise RateLimitedError(
                message or f"Limit of {limit} per {window_seconds} s reached; try again later.",
                code=f"{name}_rate_limited",
                retry_after=math.ceil(window_end - now),
                details={"limit": limit, "window_seconds": window_seconds},
            )
        return count

    def refund(self, *, owner: str, name: str, window_seconds: int) -> None:
        """Give back one use counted in the current window (a request that turned out to be a repeat)."""
        now = self._clock()
        bucket = math.floor(now / window_seconds)
        self._counters.increment(
            owner=owner,
            key=f"ratelimit#{name}#{bucket}",
            expires_at_epoch=int((bucket + 1) * window_seconds + 60),
            by=-1,
        )
