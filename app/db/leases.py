"""Once-per-interval leases: a periodic job that every instance schedules runs in one.

The first instance to write the lease item of the current interval (a conditional put)
runs the job; the others skip that interval. Nothing is released: the next interval has
its own item, and TTL removes old ones. A holder that crashes mid-run only costs one
interval, which the jobs using this accept (their steps are idempotent).
"""

import time
from typing import Any

from app.db.dynamodb import to_attr
from app.db.keys import lease_key
from app.db.repository import ConditionFailed, Repository


class IntervalLeases(Repository):
    """Lease items in the records table, one per (job, interval)."""

    def acquire(
        self, *, name: str, holder: str, interval_seconds: float, now_epoch: float | None = None
    ) -> int | None:
        """The current interval's number for the one caller that gets `name`'s lease; None for the others."""
        now = time.time() if now_epoch is None else now_epoch
        window = int(now // max(interval_seconds, 1))
        item: dict[str, Any] = {
            **lease_key(name, window),
            "holder": to_attr(holder),
            "acquired_at_epoch": to_attr(int(now)),
            # Kept a few intervals for whoever looks (which instance ran what), then expired.
            "expires_at_epoch": to_attr(int(now + 3 * max(interval_seconds, 60))),
        }
        try:
            self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(sk)")
        except ConditionFailed:
            return None
        return window
