"""Records repository against DynamoDB Local: expiring counters, single-use items, whole partitions."""

from collections.abc import Iterator
from typing import Any

import pytest

from app.core.security import new_id
from app.db.records import RecordsRepository
from tests.helpers import in_threads


@pytest.fixture
def records(container: Any) -> RecordsRepository:
    return container.records


@pytest.fixture
def owner(records: RecordsRepository) -> Iterator[str]:
    name = new_id()
    yield name
    records.delete_partition(owner=name)


def test_a_counter_starts_at_zero_and_returns_each_new_value(records: RecordsRepository, owner: str) -> None:
    assert records.increment(owner=owner, key="quota#scans#2026-05-01", expires_at_epoch=1000) == 1
    assert records.increment(owner=owner, key="quota#scans#2026-05-01", expires_at_epoch=1000) == 2
    assert records.increment(owner=owner, key="quota#scans#2026-05-01", expires_at_epoch=1000, by=5) == 7
    assert records.increment(owner=owner, key="quota#scans#2026-05-02", expires_at_epoch=2000) == 1


def test_a_counters_expiry_is_set_once_by_its_first_increment(records: RecordsRepository, owner: str) -> None:
    records.increment(owner=owner, key="window", expires_at_epoch=1000)
    records.increment(owner=owner, key="window", expires_at_epoch=5000)
    item = records.get(owner=owner, key="window")
    assert item["count"] == 2
    assert item["expires_at_epoch"] == 1000  # a fixed window: later hits do not extend it


def test_concurrent_increments_are_all_counted_and_each_sees_its_own_value(
    records: RecordsRepository, owner: str
) -> None:
    values = in_threads(8, lambda: records.increment(owner=owner, key="burst", expires_at_epoch=1000))
    assert sorted(values) == list(range(1, 9))
    assert records.get(owner=owner, key="burst")["count"] == 8


def test_put_get_round_trip_with_numbers_and_nesting(records: RecordsRepository, owner: str) -> None:
    values = {
        "scan_id": "s1",
        "score": 12.5,
        "count": 3,
        "nested": {"ok": True, "ratio": 0.25, "tags": ["a"]},
    }
    records.put(owner=owner, key="thing", values=values, expires_at_epoch=99)
    item = records.get(owner=owner, key="thing")
    assert item == {"user_id": owner, "sk": "thing", **values, "expires_at_epoch": 99}
    assert isinstance(item["count"], int)
    assert isinstance(item["score"], float)


def test_put_without_expiry_stores_none_and_put_replaces(records: RecordsRepository, owner: str) -> None:
    records.put(owner=owner, key="thing", values={"a": 1, "b": 2})
    assert "expires_at_epoch" not in records.get(owner=owner, key="thing")
    records.put(owner=owner, key="thing", values={"a": 3})
    assert records.get(owner=owner, key="thing") == {"user_id": owner, "sk": "thing", "a": 3}


def test_get_and_delete_of_a_missing_item(records: RecordsRepository, owner: str) -> None:
    assert records.get(owner=owner, key="nothing") is None
    records.delete(owner=owner, key="nothing")
    records.put(owner=owner, key="thing", values={"a": 1})
    records.delete(owner=owner, key="thing")
    assert records.get(owner=owner, key="thing") is None


def test_a_single_use_item_is_consumed_once(records: RecordsRepository, owner: str) -> None:
    records.put(owner=owner, key="token", values={"purpose": "verify"}, expires_at_epoch=1000)
    assert records.consume(owner=owner, key="token") == {
        "user_id": owner,
        "sk": "token",
        "purpose": "verify",
        "expires_at_epoch": 1000,
    }
    assert records.consume(owner=owner, key="token") is None
    assert records.get(owner=owner, key="token") is None


def test_racing_consumers_spend_a_token_exactly_once(records: RecordsRepository, owner: str) -> None:
    records.put(owner=owner, key="token", values={"purpose": "reset"})
    results = in_threads(6, lambda: records.consume(owner=owner, key="token"))
    assert sum(r is not None for r in results) == 1


def test_partition_reads_and_deletes_cover_one_owner_only(records: RecordsRepository, owner: str) -> None:
    neighbour = new_id()
    for index in range(30):  # more than one batch of deletes
        records.put(owner=owner, key=f"item#{index:02d}", values={"n": index})
    records.increment(owner=owner, key="counter", expires_at_epoch=1000)
    records.put(owner=neighbour, key="item#00", values={"n": 0})
    assert {i["sk"] for i in records.all_for(owner=owner)} == {f"item#{i:02d}" for i in range(30)} | {
        "counter"
    }
    assert records.delete_partition(owner=owner) == 31
    assert records.all_for(owner=owner) == []
    assert records.delete_partition(owner=owner) == 0
    assert records.get(owner=neighbour, key="item#00") is not None
    records.delete_partition(owner=neighbour)
