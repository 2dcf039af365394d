"""The read cache: an entry serves only the data version it was built under, for a while."""

import time

from app.core.read_cache import ReadCache


class Loader:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return f"value {self.calls}"


def test_the_same_version_is_served_from_memory_and_a_new_one_reloads() -> None:
    cache, load = ReadCache(seconds=60, max_entries=10), Loader()
    assert cache.get_or_load("k", version=3, load=load) == "value 1"
    assert cache.get_or_load("k", version=3, load=load) == "value 1"
    assert cache.get_or_load("k", version=4, load=load) == "value 2"
    assert load.calls == 2
    assert (cache.hits, cache.misses) == (1, 2)


def test_an_unknown_version_or_a_disabled_cache_always_loads() -> None:
    load = Loader()
    cache = ReadCache(seconds=60, max_entries=10)
    cache.get_or_load("k", version=None, load=load)
    cache.get_or_load("k", version=None, load=load)
    off = ReadCache(seconds=0, max_entries=10)
    off.get_or_load("k", version=1, load=load)
    off.get_or_load("k", version=1, load=load)
    assert load.calls == 4


def test_entries_expire_after_their_age_bound() -> None:
    cache, load = ReadCache(seconds=0.05, max_entries=10), Loader()
    cache.get_or_load("k", version=1, load=load)
    time.sleep(0.08)
    assert cache.get_or_load("k", version=1, load=load) == "value 2"


def test_the_least_recently_used_entry_goes_first_when_full() -> None:
    cache, load = ReadCache(seconds=60, max_entries=2), Loader()
    cache.get_or_load("a", version=1, load=load)
    cache.get_or_load("b", version=1, load=load)
    cache.get_or_load("a", version=1, load=load)  # a is now the most recent
    cache.get_or_load("c", version=1, load=load)  # b is dropped
    calls = load.calls
    cache.get_or_load("a", version=1, load=load)
    assert load.calls == calls
    cache.get_or_load("b", version=1, load=load)
    assert load.calls == calls + 1


def test_an_entry_kept_with_a_shorter_bound_expires_sooner() -> None:
    """An answer that the clock changes (a plan's 'today') is kept only until it would change."""
    cache = ReadCache(seconds=60, max_entries=10)
    cache.put("today", version=1, value=b"monday", max_seconds=0.05)
    cache.put("scans", version=1, value=b"page")
    assert cache.get("today", version=1) == b"monday"
    time.sleep(0.08)
    assert cache.get("today", version=1) is None
    assert cache.get("scans", version=1) == b"page"
    assert cache.get("scans", version=2) is None


def test_a_kept_none_is_served_without_loading_again() -> None:
    """'No active plan' is an answer too: a repeat does not query again."""
    cache, calls = ReadCache(seconds=60, max_entries=10), []
    for _ in range(3):
        assert cache.get_or_load("plan", version=1, load=lambda: calls.append(1)) is None
    assert calls == [1]
