"""The scans' storage key layout (app/db/keys.py): what the sweeps and upload links parse back."""

from app.core.security import new_id
from app.db.keys import (
    RAW_UPLOADS_ROOT,
    SCAN_FILES_ROOT,
    parse_raw_upload_key,
    parse_scan_file_key,
    raw_upload_key,
    scan_file_prefixes,
    scan_image_key,
    scan_overlay_key,
    upload_expiry_created_at,
    upload_expiry_sk,
    user_file_prefixes,
)


def test_every_file_of_a_scan_is_parsed_back_to_its_owner() -> None:
    uid, sid = new_id(), new_id()
    assert parse_raw_upload_key(raw_upload_key(uid, sid, "front")) == (uid, sid)
    # The layout before `uploads/` (raw files beside the checked ones) still parses.
    assert parse_raw_upload_key(f"users/{uid}/scans/{sid}/uploads/front") == (uid, sid)
    assert parse_raw_upload_key(scan_image_key(uid, sid, "front")) is None
    for key in (scan_image_key(uid, sid, "left"), scan_overlay_key(uid, sid)):
        assert parse_scan_file_key(key) == (SCAN_FILES_ROOT, uid, sid)
    assert parse_scan_file_key(raw_upload_key(uid, sid, "right")) == (RAW_UPLOADS_ROOT, uid, sid)
    assert parse_scan_file_key(f"users/{uid}/avatar.jpg") is None
    assert parse_scan_file_key(f"uploads/{uid}") is None


def test_prefixes_cover_exactly_the_scan_and_the_user() -> None:
    uid, sid, other = new_id(), new_id(), new_id()
    files = [scan_image_key(uid, sid, "front"), scan_overlay_key(uid, sid), raw_upload_key(uid, sid, "front")]
    assert all(any(f.startswith(p) for p in scan_file_prefixes(uid, sid)) for f in files)
    assert all(any(f.startswith(p) for p in user_file_prefixes(uid)) for f in files)
    assert not any(scan_image_key(uid, other, "front").startswith(p) for p in scan_file_prefixes(uid, sid))
    assert not any(scan_image_key(other, sid, "front").startswith(p) for p in user_file_prefixes(uid))


def test_the_upload_expiry_marker_sorts_by_creation_time() -> None:
    early = upload_expiry_sk("2026-01-01T00:00:00Z", new_id(), new_id())
    late = upload_expiry_sk("2026-01-02T00:00:00Z", new_id(), new_id())
    assert early < late < "2026-01-03"
    assert upload_expiry_created_at(early) == "2026-01-01T00:00:00Z"
