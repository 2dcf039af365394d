"""The two-step path's second half: photos sent to upload targets, then the submit that checks
them and queues the analysis."""

import logging
from collections.abc import Callable

from app.core.errors import ConflictError, NotFoundError
from app.core.security import iso, utc_now
from app.db.keys import parse_raw_upload_key, raw_upload_prefix, scan_image_key
from app.providers.storage.base import ImageStorage
from app.scans.creation import Enqueue
from app.scans.errors import AccountGoneError, ScanExpiredError, ScanNotFoundError
from app.scans.intake import ImageLimits, clean_image
from app.scans.models import ScanRecord
from app.scans.quota import ScanQuota
from app.scans.repository import ScansRepository

logger = logging.getLogger("dermalens.scans")


def require_awaiting(scan: ScanRecord | None) -> ScanRecord:
    """The scan, if it still awaits its photos (404 if gone, 409 once submitted or expired)."""
    if scan is None:
        raise ScanNotFoundError()
    if scan.status == "expired":
        raise ScanExpiredError()
    if scan.status != "awaiting_upload":
        raise ConflictError(
            "This scan's photos were already submitted.",
            code="scan_not_awaiting_upload",
            details={"status": scan.status},
        )
    return scan


class UploadIntake:
    """Accepts raw uploads into scans awaiting them and turns a submit into a queued scan."""

    def __init__(
        self,
        *,
        scans: ScansRepository,
        storage: ImageStorage,
        limits: ImageLimits,
        quota: ScanQuota,
        enqueue: Enqueue,
    ) -> None:
        self._scans = scans
        self._storage = storage
        self._limits = limits
        self._quota = quota
        self._enqueue = enqueue

    def accept_upload(self, *, key: str, store: Callable[[], object]) -> None:
        """Store a photo sent to an upload URL, but only into a scan still awaiting its photos
        (404 once the scan or account is gone, 409 once it was submitted or expired)."""
        owner = parse_raw_upload_key(key)
        if owner is None:
            raise NotFoundError("This upload link does not belong to a scan.", code="scan_not_found")
        user_id, scan_id = owner
        require_awaiting(self._scans.get(user_id=user_id, scan_id=scan_id))
        store()
        # Checked again after the write, in one transaction with the user: a deletion that
        # began meanwhile either sees this file (it deletes after its own first write) or
        # makes this check fail, and then the file is removed here.
        if not self._scans.accepts_uploads(user_id=user_id, scan_id=scan_id):
            self._storage.delete_prefix(prefix=key)
            current = self._scans.get(user_id=user_id, scan_id=scan_id)
            if current is not None and current.status == "awaiting_upload":
                raise AccountGoneError()
            require_awaiting(current)

    def submit(self, *, scan: ScanRecord) -> ScanRecord:
        """Check every expected photo arrived and is a usable image, then queue the analysis."""
        if scan.status != "awaiting_upload":
            if scan.status in {"queued", "processing", "completed"}:
                return scan  # a retried submit is harmless
            if scan.status == "expired":
                raise ScanExpiredError()
            raise ConflictError(
                "This scan has already been analysed; use retry.", code="scan_not_awaiting_upload"
            )
        raw = {angle: self._storage.get(key=scan.upload_keys[angle]) for angle in scan.angles}
        missing = [angle for angle, data in raw.items() if data is None]
        if missing:
            raise ConflictError(
                "Some photos have not been uploaded yet.",
                code="images_missing",
                details={"missing_angles": missing},
            )
        self._quota.charge_photo_check(user_id=scan.user_id)
        cleaned = {
            angle: clean_image(data, limits=self._limits, angle=angle).jpeg
            for angle, data in raw.items()
            if data is not None
        }
        return self._store_and_queue(scan, cleaned)

    def _store_and_queue(self, scan: ScanRecord, images: dict[str, bytes]) -> ScanRecord:
        """Store the checked photos, move the scan to `queued` and hand it to the worker."""
        keys = {angle: scan_image_key(scan.user_id, scan.scan_id, angle) for angle in scan.angles}
        for angle, key in keys.items():
            self._storage.put(key=key, data=images[angle], content_type="image/jpeg")
        moment = utc_now()
        now = iso(moment)
        if not self._scans.mark_uploaded(scan=scan, image_keys=keys, now=now):
            current = self._scans.get(user_id=scan.user_id, scan_id=scan.scan_id)
            if current is not None and current.status not in {"awaiting_upload", "expired"}:
                return current  # a concurrent submit got there first: report what it wrote
            # The scan was deleted or expired, or its account is being deleted: the photos
            # just written must not outlive it.
            for key in keys.values():
                self._storage.delete_prefix(prefix=key)
            if current is None:
                raise ScanNotFoundError()
            if current.status == "expired":
                raise ScanExpiredError()
            raise AccountGoneError()
        # The raw uploads (EXIF and GPS still inside) are no longer needed.
        self._storage.delete_prefix(prefix=raw_upload_prefix(scan.user_id, scan.scan_id))
        self._enqueue(scan.user_id, scan.scan_id)
        logger.info("scan queued", extra={"scan_id": scan.scan_id, "angles": scan.angles})
        return scan.model_copy(
            update={"status": "queued", "image_keys": keys, "submitted_at": moment, "updated_at": moment}
        )
