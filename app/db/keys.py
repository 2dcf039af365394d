"""Every DynamoDB key and key prefix of every table, in one place.

Key functions return attribute-value dicts ready for `Key=`; `*_PREFIX` / `*_PARTITION`
constants and the `*_sk` functions build the sort-key strings the queries rely on.
"""

from typing import Any

from app.db.dynamodb import to_attr

# --- scans ---

SCAN_JOBS_PARTITION = "system#analysis-jobs"
"""Records table: one marker per queued or processing scan, SK `<user_id>#<scan_id>` (recovery)."""
UPLOAD_EXPIRY_PARTITION = "system#upload-expiry"
"""Records table: one marker per scan awaiting photos, SK `<created_at>#<user_id>#<scan_id>`."""
SCAN_IDEMPOTENCY_PREFIX = "idempotency#scan-create#"
"""Records table, in the user's partition: SK prefix of a scan-create idempotency guard."""
SCAN_DATE_INDEX = "scan-date-index"
"""Scans table LSI: the user's scans by `scan_date`."""

SCAN_FILES_ROOT = "users/"
"""Storage: `users/<user_id>/scans/<scan_id>/` holds a scan's checked photos and overlay."""
RAW_UPLOADS_ROOT = "uploads/"
"""Storage: `uploads/<user_id>/<scan_id>/<angle>` holds raw uploads (an S3 lifecycle rule expires them)."""


def scan_key(user_id: str, scan_id: str) -> dict[str, Any]:
    """Scans table: one scan."""
    return {"user_id": to_attr(user_id), "scan_id": to_attr(scan_id)}


def scan_owner_key(user_id: str) -> dict[str, Any]:
    """Users table: a scan's owner, whom every scan write checks still exists."""
    return {"user_id": to_attr(user_id)}


def scan_job_sk(user_id: str, scan_id: str) -> str:
    """SK of a scan's job marker in the `SCAN_JOBS_PARTITION`."""
    return f"{user_id}#{scan_id}"


def scan_job_key(user_id: str, scan_id: str) -> dict[str, Any]:
    """Records table: a scan's analysis-job marker."""
    return {"user_id": to_attr(SCAN_JOBS_PARTITION), "sk": to_attr(scan_job_sk(user_id, scan_id))}


def upload_expiry_sk(created_at: str, user_id: str, scan_id: str) -> str:
    """SK of a scan's marker in the `UPLOAD_EXPIRY_PARTITION`."""
    # Creation time first: the sweep finds abandoned uploads with one `sk < cutoff` query.
    return f"{created_at}#{user_id}#{scan_id}"


def upload_expiry_created_at(sk: str) -> str:
    """The creation time an upload-expiry marker's SK starts with."""
    return sk.split("#", 1)[0]


def upload_expiry_key(created_at: str, user_id: str, scan_id: str) -> dict[str, Any]:
    """Records table: a scan's upload-expiry marker."""
    return {
        "user_id": to_attr(UPLOAD_EXPIRY_PARTITION),
        "sk": to_attr(upload_expiry_sk(created_at, user_id, scan_id)),
    }


def scan_idempotency_key(user_id: str, key: str) -> dict[str, Any]:
    """Records table: the guard of one `Idempotency-Key` of scan creation."""
    return {"user_id": to_attr(user_id), "sk": to_attr(SCAN_IDEMPOTENCY_PREFIX + key)}


def scan_files_prefix(user_id: str, scan_id: str) -> str:
    """Storage: a scan's checked photos and overlay."""
    return f"{SCAN_FILES_ROOT}{user_id}/scans/{scan_id}/"


def scan_image_key(user_id: str, scan_id: str, angle: str) -> str:
    """Storage: one checked (metadata-free) photo."""
    return f"{scan_files_prefix(user_id, scan_id)}{angle}.jpg"


def scan_overlay_key(user_id: str, scan_id: str) -> str:
    """Storage: the annotated front photo."""
    return f"{scan_files_prefix(user_id, scan_id)}overlay.jpg"


def raw_upload_prefix(user_id: str, scan_id: str) -> str:
    """Storage: a scan's raw uploads."""
    return f"{RAW_UPLOADS_ROOT}{user_id}/{scan_id}/"


def raw_upload_key(user_id: str, scan_id: str, angle: str) -> str:
    # Raw uploads (EXIF and GPS still inside) land apart from the checked images, under one
    # top-level prefix, so an S3 lifecycle rule on `uploads/` expires whatever is abandoned,
    # and a late re-upload can never replace a photo that was already validated.
    return f"{raw_upload_prefix(user_id, scan_id)}{angle}"


def user_file_prefixes(user_id: str) -> list[str]:
    """Storage: every prefix holding a user's files (account deletion)."""
    return [f"{SCAN_FILES_ROOT}{user_id}/", f"{RAW_UPLOADS_ROOT}{user_id}/"]


def scan_file_prefixes(user_id: str, scan_id: str) -> list[str]:
    """Storage: every prefix holding a scan's files (checked photos, overlay, raw uploads)."""
    return [scan_files_prefix(user_id, scan_id), raw_upload_prefix(user_id, scan_id)]


def parse_raw_upload_key(key: str) -> tuple[str, str] | None:
    """(user_id, scan_id) of a raw-upload key (also the layout before `uploads/`), else None."""
    parts = key.split("/")
    if len(parts) == 4 and parts[0] == RAW_UPLOADS_ROOT.rstrip("/"):
        return parts[1], parts[2]
    if len(parts) == 6 and parts[0] == "users" and parts[2] == "scans" and parts[4] == "uploads":
        return parts[1], parts[3]
    return None


def parse_scan_file_key(key: str) -> tuple[str, str, str] | None:
    """(root, user_id, scan_id) of a stored scan file under either root, else None (sweeps)."""
    parts = key.split("/")
    if key.startswith(SCAN_FILES_ROOT):
        if len(parts) < 5 or parts[2] != "scans":
            return None
        return SCAN_FILES_ROOT, parts[1], parts[3]
    if key.startswith(RAW_UPLOADS_ROOT) and len(parts) > 2:
        return RAW_UPLOADS_ROOT, parts[1], parts[2]
    return None
