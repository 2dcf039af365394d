"""Stored scan documents: typed on read, and dumped exactly as they were stored."""

from datetime import UTC, datetime, timedelta

from app.scans.models import ScanRecord

OLD_ITEM = {
    "user_id": "u",
    "scan_id": "s",
    "scan_date": "2026-11-14T09:00:00Z",
    "status": "completed",
    "angles": ["front"],
    "created_at": "2026-11-14T09:00:00Z",
    "updated_at": "2026-11-14T09:01:00Z",
    "quality": {
        "front": {
            "passed": True,
            "face_found": True,
            "face_fraction": 0.3,
            "sharpness": 120.5,
            "brightness": 130.0,
            "width": 1080,
            "height": 1440,
            "problems": [],
        }
    },
    "analysis": {
        "provider": "local",
        "model_version": "v1",
        "angles": [
            {
                "angle": "front",
                "scores": {"acne": 60.0},
                "regions": {"forehead": {"acne": 55.0}},
                "measurements": {},
                "face_box": None,
            }
        ],
    },
    # Written before `within_noise` existed, and with a baseline that was never there.
    "deltas": {
        "previous": {"scan_id": "p", "scan_date": "2026-11-01T09:00:00Z", "changes": {"acne": 2.0}},
        "baseline": None,
    },
}


def test_an_older_item_reads_typed_and_dumps_as_stored() -> None:
    scan = ScanRecord.model_validate(OLD_ITEM)
    assert scan.deltas is not None
    assert scan.deltas.previous is not None
    assert scan.deltas.previous.changes == {"acne": 2.0}
    assert scan.regions() == {"front": {"forehead": {"acne": 55.0}}}
    dumped = scan.model_dump()
    for field in ("quality", "analysis", "deltas"):
        assert dumped[field] == OLD_ITEM[field]
    assert "within_noise" not in dumped["deltas"]["previous"]


def test_a_failure_keeps_its_problems() -> None:
    failure = {
        "code": "quality_check_failed",
        "message": "Too dark.",
        "problems": [{"code": "too_dark", "message": "Too dark."}],
    }
    scan = ScanRecord.model_validate({**OLD_ITEM, "status": "failed", "failure": failure})
    assert scan.failure is not None
    assert scan.failure.problems is not None
    assert scan.failure.problems[0].code == "too_dark"
    assert scan.model_dump()["failure"] == failure


def test_times_are_aware_utc_datetimes_that_dump_as_z_strings() -> None:
    scan = ScanRecord.model_validate({**OLD_ITEM, "completed_at": "2026-11-14T09:00:30.250000Z"})
    assert scan.created_at == datetime(2026, 11, 14, 9, 0, tzinfo=UTC)
    assert scan.completed_at is not None
    assert scan.completed_at.utcoffset() == timedelta(0)
    dumped = scan.model_dump()
    assert (dumped["created_at"], dumped["completed_at"]) == (
        "2026-11-14T09:00:00Z",
        "2026-11-14T09:00:30.250000Z",
    )
    assert scan.model_dump(mode="json")["updated_at"] == "2026-11-14T09:01:00Z"
