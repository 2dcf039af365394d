"""Scans repository against DynamoDB Local: create, pages, status transitions and their conditions.

Every scan here belongs to a user created for the test and is deleted with it, so the
background worker and sweeper of the shared app never find work left behind.
"""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.auth.repository import UserRecord
from app.core.errors import BadRequestError
from app.core.security import iso, new_id, utc_now
from app.scans.repository import ScanGoneError, ScanRecord, ScansRepository
from tests.factories import scan_record, user_record

DAY0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def scans(container: Any) -> ScansRepository:
    return container.scans_repo


@pytest.fixture
def owner(container: Any, scans: ScansRepository) -> Iterator[UserRecord]:
    user = user_record()
    container.users.create(user=user)
    yield user
    scans.delete_all(user_id=user.user_id)
    container.users.delete(user_id=user.user_id, email=user.email)


def create(scans: ScansRepository, owner: UserRecord, **fields: Any) -> ScanRecord:
    """A stored scan; one stored past `awaiting_upload` loses its upload-expiry marker, as it
    would have on its way there."""
    scan, created = scans.create(scan=scan_record(user_id=owner.user_id, **fields))
    assert created
    if scan.status != "awaiting_upload":
        scans.drop_expiry_marker(user_id=scan.user_id, scan_id=scan.scan_id, created_at=iso(scan.created_at))
    return scan


def awaiting_listed(scans: ScansRepository, scan: ScanRecord) -> bool:
    """Whether the abandoned-upload sweep would find this scan."""
    before = iso(scan.created_at + timedelta(milliseconds=1))
    return (scan.user_id, scan.scan_id, iso(scan.created_at)) in scans.abandoned_uploads(
        created_before=before
    )


def later(minutes: int = 1) -> str:
    return iso(utc_now() + timedelta(minutes=minutes))


def jobs_for(scans: ScansRepository, user_id: str) -> set[str]:
    return {scan_id for uid, scan_id in scans.pending_jobs() if uid == user_id}


def test_create_then_get(scans: ScansRepository, owner: UserRecord) -> None:
    scan = create(scans, owner, upload_keys={"front": "uploads/x/front.jpg"})
    assert scans.get(user_id=owner.user_id, scan_id=scan.scan_id) == scan
    assert scans.get(user_id=owner.user_id, scan_id=new_id()) is None


def test_another_users_scan_is_not_found(scans: ScansRepository, owner: UserRecord) -> None:
    scan = create(scans, owner)
    assert scans.get(user_id=new_id(), scan_id=scan.scan_id) is None


def test_create_is_refused_for_a_missing_or_deleting_user(
    container: Any, scans: ScansRepository, owner: UserRecord
) -> None:
    with pytest.raises(ScanGoneError):
        scans.create(scan=scan_record(user_id=new_id()))
    container.users.mark_deletion_requested(user_id=owner.user_id, requested_at=iso(utc_now()))
    with pytest.raises(ScanGoneError):
        scans.create(scan=scan_record(user_id=owner.user_id))
    assert scans.all_for_user(user_id=owner.user_id) == []


def test_an_idempotency_key_returns_the_first_scan(scans: ScansRepository, owner: UserRecord) -> None:
    now = int(utc_now().timestamp())
    first, created = scans.create(
        scan=scan_record(user_id=owner.user_id, idempotency_key="k1"),
        idempotency_ttl_epoch=now + 60,
        now_epoch=now,
    )
    assert created
    again, created = scans.create(
        scan=scan_record(user_id=owner.user_id, idempotency_key="k1"),
        idempotency_ttl_epoch=now + 60,
        now_epoch=now,
    )
    assert not created
    assert again == first
    assert scans.find_idempotent(user_id=owner.user_id, key="k1", now_epoch=now) == first
    assert [s.scan_id for s in scans.all_for_user(user_id=owner.user_id)] == [first.scan_id]


def test_an_idempotency_key_is_taken_over_once_expired_or_its_scan_deleted(
    scans: ScansRepository, owner: UserRecord
) -> None:
    now = int(utc_now().timestamp())
    first, _ = scans.create(
        scan=scan_record(user_id=owner.user_id, idempotency_key="k"),
        idempotency_ttl_epoch=now + 60,
        now_epoch=now,
    )
    # Past its TTL, the key no longer answers and a new scan takes it.
    assert scans.find_idempotent(user_id=owner.user_id, key="k", now_epoch=now + 61) is None
    second, created = scans.create(
        scan=scan_record(user_id=owner.user_id, idempotency_key="k"),
        idempotency_ttl_epoch=now + 200,
        now_epoch=now + 61,
    )
    assert created
    assert second.scan_id != first.scan_id
    scans.delete(user_id=owner.user_id, scan_id=second.scan_id, created_at=second.created_at)
    third, created = scans.create(
        scan=scan_record(user_id=owner.user_id, idempotency_key="k"),
        idempotency_ttl_epoch=now + 200,
        now_epoch=now + 62,
    )
    assert created
    assert third.scan_id not in {first.scan_id, second.scan_id}


def test_racing_creates_with_one_idempotency_key_make_one_scan(
    scans: ScansRepository, owner: UserRecord
) -> None:
    now = int(utc_now().timestamp())
    barrier = threading.Barrier(3)
    results: list[tuple[str, bool]] = []
    errors: list[Exception] = []

    def submit() -> None:
        barrier.wait()
        try:
            scan, created = scans.create(
                scan=scan_record(user_id=owner.user_id, idempotency_key="same"),
                idempotency_ttl_epoch=now + 60,
                now_epoch=now,
            )
            results.append((scan.scan_id, created))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = scans.all_for_user(user_id=owner.user_id)
    assert len(stored) == 1
    assert sum(created for _, created in results) == 1
    assert all(scan_id == stored[0].scan_id for scan_id, _ in results), (results, errors)


# ---- pages ----


@pytest.fixture
def ten_days(scans: ScansRepository, owner: UserRecord) -> list[ScanRecord]:
    """One completed scan a day for ten days, created oldest first."""
    return [create(scans, owner, status="completed", created=DAY0 + timedelta(days=i)) for i in range(10)]


def pages(scans: ScansRepository, user_id: str, limit: int, **query: Any) -> list[list[ScanRecord]]:
    result, cursor = [], None
    while True:
        items, cursor = scans.get_page(user_id=user_id, limit=limit, cursor=cursor, **query)
        result.append(items)
        if cursor is None:
            return result


def test_pages_are_newest_first_and_the_cursor_walks_them_all(
    scans: ScansRepository, owner: UserRecord, ten_days: list[ScanRecord]
) -> None:
    walked = pages(scans, owner.user_id, limit=4)
    assert [len(p) for p in walked[:3]] == [4, 4, 2]
    flat = [s.scan_id for p in walked for s in p]
    assert flat == [s.scan_id for s in reversed(ten_days)]


def test_a_date_range_is_inclusive_newest_first_and_pages(
    scans: ScansRepository, owner: UserRecord, ten_days: list[ScanRecord]
) -> None:
    date_from, date_to = ten_days[2].scan_date, ten_days[6].scan_date
    walked = pages(scans, owner.user_id, limit=2, date_from=date_from, date_to=date_to)
    flat = [s.scan_id for p in walked for s in p]
    assert flat == [s.scan_id for s in reversed(ten_days[2:7])]
    # One open end at a time.
    since, _ = scans.get_page(user_id=owner.user_id, limit=50, cursor=None, date_from=ten_days[8].scan_date)
    assert [s.scan_id for s in since] == [ten_days[9].scan_id, ten_days[8].scan_id]
    until, _ = scans.get_page(user_id=owner.user_id, limit=50, cursor=None, date_to=ten_days[0].scan_date)
    assert [s.scan_id for s in until] == [ten_days[0].scan_id]


@pytest.mark.usefixtures("ten_days")
def test_a_cursor_is_bound_to_its_user(scans: ScansRepository, owner: UserRecord) -> None:
    _, cursor = scans.get_page(user_id=owner.user_id, limit=3, cursor=None)
    assert cursor
    stranger = new_id()
    assert scans.get_page(user_id=stranger, limit=3, cursor=cursor) == ([], None)


def test_a_garbled_cursor_is_a_bad_request(scans: ScansRepository, owner: UserRecord) -> None:
    with pytest.raises(BadRequestError):
        scans.get_page(user_id=owner.user_id, limit=3, cursor="not-a-cursor")


def test_a_cursor_from_one_listing_is_refused_by_the_other(
    scans: ScansRepository, owner: UserRecord, ten_days: list[ScanRecord]
) -> None:
    _, plain = scans.get_page(user_id=owner.user_id, limit=3, cursor=None)
    _, ranged = scans.get_page(user_id=owner.user_id, limit=3, cursor=None, date_from=ten_days[0].scan_date)
    assert plain
    assert ranged
    with pytest.raises(BadRequestError):
        scans.get_page(user_id=owner.user_id, limit=3, cursor=plain, date_from=ten_days[0].scan_date)
    with pytest.raises(BadRequestError):
        scans.get_page(user_id=owner.user_id, limit=3, cursor=ranged)


def test_completed_between_and_latest_completed_skip_unusable_scans(
    scans: ScansRepository, owner: UserRecord
) -> None:
    good = [create(scans, owner, status="completed", created=DAY0 + timedelta(days=i)) for i in (0, 2)]
    create(scans, owner, status="completed", created=DAY0 + timedelta(days=3), passed_quality=False)
    create(scans, owner, status="failed", created=DAY0 + timedelta(days=4))
    between = scans.completed_between(user_id=owner.user_id, date_from="0000", date_to="9999")
    assert [s.scan_id for s in between] == [s.scan_id for s in good]  # oldest first
    assert scans.latest_completed(user_id=owner.user_id).scan_id == good[1].scan_id
    assert (
        scans.latest_completed(user_id=owner.user_id, before_scan_id=good[1].scan_id).scan_id
        == good[0].scan_id
    )
    assert scans.latest_completed(user_id=owner.user_id, before_scan_id=good[0].scan_id) is None


# ---- status transitions ----


def test_the_life_of_a_scan(scans: ScansRepository, owner: UserRecord) -> None:
    scan = create(scans, owner)
    uid = owner.user_id
    assert scans.accepts_uploads(user_id=uid, scan_id=scan.scan_id)
    assert awaiting_listed(scans, scan)

    now = iso(utc_now())
    assert scans.mark_uploaded(scan=scan, image_keys={"front": "k/front.jpg"}, now=now)
    queued = scans.get(user_id=uid, scan_id=scan.scan_id)
    assert queued.status == "queued"
    assert queued.image_keys == {"front": "k/front.jpg"}
    assert queued.submitted_at is not None
    assert iso(queued.submitted_at) == now
    assert scan.scan_id in jobs_for(scans, uid)
    assert not awaiting_listed(scans, scan)
    assert not scans.accepts_uploads(user_id=uid, scan_id=scan.scan_id)
    assert not scans.mark_uploaded(scan=scan, image_keys={}, now=now)  # only once

    claimed = scans.claim(user_id=uid, scan_id=scan.scan_id, now=iso(utc_now()), lease_until=later(5))
    assert claimed is not None
    assert claimed.status == "processing"
    assert claimed.attempts == 1

    assert scans.finish(
        scan=claimed, updates={"status": "completed", "scores": {"acne": 50.5}, "passed_quality": True}
    )
    done = scans.get(user_id=uid, scan_id=scan.scan_id)
    assert done.status == "completed"
    assert done.scores == {"acne": 50.5}
    assert done.lease_expires_at is None
    assert scan.scan_id not in jobs_for(scans, uid)
    assert not scans.finish(scan=claimed, updates={"status": "failed"})  # a second worker is harmless
    assert scans.get(user_id=uid, scan_id=scan.scan_id).status == "completed"


def test_only_one_of_two_racing_workers_claims_a_scan(scans: ScansRepository, owner: UserRecord) -> None:
    scan = create(scans, owner, status="queued")
    barrier = threading.Barrier(2)
    claims: list[ScanRecord | None] = []

    def claim() -> None:
        barrier.wait()
        claims.append(
            scans.claim(user_id=owner.user_id, scan_id=scan.scan_id, now=iso(utc_now()), lease_until=later(5))
        )

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(c is not None for c in claims) == 1


def test_a_processing_scan_is_claimed_again_only_after_its_lease(
    scans: ScansRepository, owner: UserRecord
) -> None:
    scan = create(scans, owner, status="queued")
    uid = owner.user_id
    start = utc_now()
    lease_until = iso(start + timedelta(minutes=5))
    assert scans.claim(user_id=uid, scan_id=scan.scan_id, now=iso(start), lease_until=lease_until)
    assert (
        scans.claim(user_id=uid, scan_id=scan.scan_id, now=iso(start + timedelta(minutes=4)), lease_until="z")
        is None
    )
    again = scans.claim(
        user_id=uid,
        scan_id=scan.scan_id,
        now=iso(start + timedelta(minutes=6)),
        lease_until=iso(start + timedelta(minutes=11)),
    )
    assert again is not None
    assert again.attempts == 2


@pytest.mark.parametrize("status", ["awaiting_upload", "completed", "failed", "expired"])
def test_only_queued_or_stale_processing_scans_can_be_claimed(
    scans: ScansRepository, owner: UserRecord, status: str
) -> None:
    scan = create(scans, owner, status=status)
    assert (
        scans.claim(user_id=owner.user_id, scan_id=scan.scan_id, now=iso(utc_now()), lease_until=later(5))
        is None
    )
    assert (
        scans.claim(user_id=owner.user_id, scan_id=new_id(), now=iso(utc_now()), lease_until=later(5)) is None
    )


def test_a_failed_scan_is_retried_with_a_fresh_budget(scans: ScansRepository, owner: UserRecord) -> None:
    scan = create(scans, owner, status="queued")
    uid = owner.user_id
    claimed = scans.claim(user_id=uid, scan_id=scan.scan_id, now=iso(utc_now()), lease_until=later(5))
    failure = {"code": "no_face", "message": "No face was found."}
    assert scans.finish(scan=claimed, updates={"status": "failed", "failure": failure})
    stored = scans.get(user_id=uid, scan_id=scan.scan_id).failure
    assert stored is not None
    assert stored.model_dump() == failure
    assert scans.requeue(scan=scan, now=iso(utc_now()))
    retried = scans.get(user_id=uid, scan_id=scan.scan_id)
    assert retried.status == "queued"
    assert retried.attempts == 0
    assert retried.failure is None
    assert scan.scan_id in jobs_for(scans, uid)
    assert not scans.requeue(scan=scan, now=iso(utc_now()))  # queued is not failed
    scans.delete(user_id=uid, scan_id=scan.scan_id)
    assert scan.scan_id not in jobs_for(scans, uid)


def test_finish_is_refused_once_the_user_is_being_deleted(
    container: Any, scans: ScansRepository, owner: UserRecord
) -> None:
    scan = create(scans, owner, status="queued")
    claimed = scans.claim(
        user_id=owner.user_id, scan_id=scan.scan_id, now=iso(utc_now()), lease_until=later(5)
    )
    container.users.mark_deletion_requested(user_id=owner.user_id, requested_at=iso(utc_now()))
    assert not scans.finish(scan=claimed, updates={"status": "completed"})
    assert scans.get(user_id=owner.user_id, scan_id=scan.scan_id).status == "processing"
    assert not scans.accepts_uploads(user_id=owner.user_id, scan_id=scan.scan_id)


def test_an_abandoned_upload_expires_once(scans: ScansRepository, owner: UserRecord) -> None:
    scan = create(scans, owner, upload_keys={"front": "raw/front.jpg"})
    assert scans.expire(scan=scan, now=iso(utc_now()))
    expired = scans.get(user_id=owner.user_id, scan_id=scan.scan_id)
    assert expired.status == "expired"
    assert expired.upload_keys == {}
    assert expired.failure is not None
    assert expired.failure.code == "upload_expired"
    assert not scans.expire(scan=scan, now=iso(utc_now()))
    assert not scans.mark_uploaded(scan=scan, image_keys={}, now=iso(utc_now()))
    scans.drop_expiry_marker(user_id=owner.user_id, scan_id=scan.scan_id, created_at=iso(scan.created_at))
    assert not awaiting_listed(scans, scan)


def test_delete_removes_the_scan_and_its_markers_and_is_idempotent(
    scans: ScansRepository, owner: UserRecord
) -> None:
    uid = owner.user_id
    waiting = create(scans, owner)
    queued = create(scans, owner)
    scans.mark_uploaded(scan=queued, image_keys={}, now=iso(utc_now()))
    for scan in (waiting, queued):
        scans.delete(user_id=uid, scan_id=scan.scan_id, created_at=scan.created_at)
        scans.delete(user_id=uid, scan_id=scan.scan_id, created_at=scan.created_at)
        assert scans.get(user_id=uid, scan_id=scan.scan_id) is None
    assert jobs_for(scans, uid) == set()
    assert not awaiting_listed(scans, waiting)


def test_delete_all_removes_every_scan_and_marker_of_the_user_only(
    container: Any, scans: ScansRepository, owner: UserRecord
) -> None:
    neighbour = user_record()
    container.users.create(user=neighbour)
    kept = scans.create(scan=scan_record(user_id=neighbour.user_id, status="completed"))[0]
    waiting = create(scans, owner)
    queued = create(scans, owner)
    scans.mark_uploaded(scan=queued, image_keys={}, now=iso(utc_now()))
    create(scans, owner, status="completed")
    assert scans.delete_all(user_id=owner.user_id) == 3
    assert scans.all_for_user(user_id=owner.user_id) == []
    assert jobs_for(scans, owner.user_id) == set()
    assert not awaiting_listed(scans, waiting)
    assert scans.delete_all(user_id=owner.user_id) == 0
    assert scans.get(user_id=neighbour.user_id, scan_id=kept.scan_id) == kept
    scans.delete_all(user_id=neighbour.user_id)
    container.users.delete(user_id=neighbour.user_id, email=neighbour.email)
