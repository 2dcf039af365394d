"""Per-process cache of a user's read answers, valid while the user's data version is unchanged.

Every write to a user's scans or plans adds 1 to `data_version` on the user item (inside the
write's transaction where it has one, right after it otherwise). Every authenticated request
already reads the user item with a strongly consistent GetItem, so a cached answer built
under the version that read returns is still the answer: a repeated `GET /scans`,
`/progress` or `/plans/active` costs that one GetItem instead of a query of large items
(app/api/cached.py keeps their rendered JSON here).

Why it is correct with several processes: the version only grows and is read before the
data. A fill that races a write either sees the old data under the old version (replaced at
the next read, which sees the new version) or the new data under the old version (newer
than needed, never older). A bump after a non-transactional write that is lost to a crash
leaves an entry stale for at most `seconds`, which also bounds how old a cached download
link can get.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class _Entry:
    version: int
    expires_at: float
    value: Any


class ReadCache:
    """Bounded LRU of (key → value built under a data version), entries dropped after `seconds`."""

    def __init__(self, *, seconds: float, max_entries: int) -> None:
        self._seconds = seconds
        self._max_entries = max_entries
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self._seconds > 0 and self._max_entries > 0

    def get(self, key: Hashable, *, version: int | None) -> Any | None:
        """The value kept for `key` if it was built under `version` and has not expired, else None."""
        entry = self._lookup(key, version)
        return None if entry is None else entry.value

    def _lookup(self, key: Hashable, version: int | None) -> _Entry | None:
        if version is None or not self.enabled:
            return None
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.version == version and entry.expires_at > now:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry
            self.misses += 1
            return None

    def put(
        self, key: Hashable, *, version: int | None, value: Any, max_seconds: float | None = None
    ) -> None:
        """Keep `value` for `key` under `version`, for `seconds` or `max_seconds` if sooner."""
        if version is None or not self.enabled:
            return
        seconds = self._seconds if max_seconds is None else min(self._seconds, max_seconds)
        if seconds <= 0:
            return
        with self._lock:
            self._entries[key] = _Entry(version=version, expires_at=time.monotonic() + seconds, value=value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def get_or_load(self, key: Hashable, *, version: int | None, load: Callable[[], T]) -> T:
        """The cached value for `key` if it was built under `version`, else `load()` (then kept).

        `version` None (the caller does not know the user's data version) always loads.
        """
        entry = self._lookup(key, version)
        if entry is not None:  # a kept None (e.g. "no active plan") is a hit too
            value: T = entry.value
            return value
        value = load()  # outside the lock: a DynamoDB call
        self.put(key, version=version, value=value)
        return value
