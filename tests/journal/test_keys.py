"""Journal and period sort keys: date order is key order, and refs stay outside a date range."""

from app.db import keys


def test_journal_keys_sort_by_date_and_refs_fall_outside_every_journal_range() -> None:
    ids = ["01J00000000000000000000000", "01JZZZZZZZZZZZZZZZZZZZZZZZ"]
    dated = [keys.journal_sk(day, i) for day in ("2026-01-09", "2026-01-10", "2026-02-01") for i in ids]
    assert dated == sorted(dated)
    low, high = keys.JOURNAL_PREFIX, keys.JOURNAL_PREFIX + "~"
    ref = keys.journal_ref_sk(ids[0])
    assert all(low <= sk <= high for sk in dated)
    assert not low <= ref <= high
    last_day_high = keys.JOURNAL_PREFIX + "2026-01-10#~"
    assert keys.journal_sk("2026-01-10", ids[1]) <= last_day_high < keys.journal_sk("2026-01-11", ids[0])


def test_period_keys_sort_by_start_and_do_not_collide_with_the_slot() -> None:
    a = keys.period_sk("2026-01-02", "01J00000000000000000000000")
    b = keys.period_sk("2026-01-30", "01J00000000000000000000000")
    assert a < b
    assert not keys.CYCLE_SLOT_SK.startswith(keys.PERIOD_PREFIX)
