"""Scan lifecycle: create → upload → submit → (worker) analyse → completed | failed."""

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from app.core.errors import AccountGoneError, ConflictError, NotFoundError, UnprocessableError
from app.core.rate_limit import RateLimiter
from app.core.security import iso, new_id, utc_now
from app.core.vocabulary import ScanAngle
from app.providers.storage.base import ImageStorage, UploadTarget
from app.scans.intake import ACCEPTED_CONTENT_TYPES, ImageLimits, clean_image
from app.scans.repository import ScanGoneError, ScanRecord, ScansRepository

logger = logging.getLogger("dermalens.scans")

IDEMPOTENCY_TTL = timedelta(hours=24)
RAW_UPLOADS_ROOT = "uploads/"
# A file with no scan is only removed by the sweep once it is this old: a writer whose
# conditional write was refused deletes its own files within seconds, so anything older
# was left by a crash.
ORPHAN_GRACE_SECONDS = 3600


class ScanNotFoundError(NotFoundError):
    code = "scan_not_found"
    message = "No such scan."


def scan_prefix(user_id: str, scan_id: str) -> str:
    return f"users/{user_id}/scans/{scan_id}/"


def image_key(user_id: str, scan_id: str, angle: str) -> str:
    return f"{scan_prefix(user_id, scan_id)}{angle}.jpg"


def raw_upload_prefix(user_id: str, scan_id: str) -> str:
    return f"{RAW_UPLOADS_ROOT}{user_id}/{scan_id}/"


def upload_key(user_id: str, scan_id: str, angle: str) -> str:
    # Raw uploads (EXIF and GPS still inside) land apart from the checked images, under one
    # top-level prefix, so an S3 lifecycle rule on `uploads/` expires whatever is abandoned,
    # and a late re-upload can never replace a photo that was already validated.
    return f"{raw_upload_prefix(user_id, scan_id)}{angle}"


def user_prefixes(user_id: str) -> list[str]:
    """Every storage prefix holding a user's files (account deletion)."""
    return [f"users/{user_id}/", f"{RAW_UPLOADS_ROOT}{user_id}/"]


def scan_prefixes(user_id: str, scan_id: str) -> list[str]:
    """Every storage prefix holding a scan's files (the checked photos, overlay, raw uploads)."""
    return [scan_prefix(user_id, scan_id), raw_upload_prefix(user_id, scan_id)]


def parse_upload_key(key: str) -> tuple[str, str] | None:
    """(user_id, scan_id) of a raw-upload key (also the layout before `uploads/`), else None."""
    parts = key.split("/")
    if len(parts) == 4 and parts[0] == RAW_UPLOADS_ROOT.rstrip("/"):
        return parts[1], parts[2]
    if len(parts) == 6 and parts[0] == "users" and parts[2] == "scans" and parts[4] == "uploads":
        return parts[1], parts[3]
    return None


class ScanExpiredError(ConflictError):
    code = "scan_expired"
    message = "This scan's photos were not submitted in time; start a new scan."


def overlay_key(user_id: str, scan_id: str) -> str:
    return f"{scan_prefix(user_id, scan_id)}overlay.jpg"


class ScanService:
    """Everything a user does with scans; analysis itself runs in `AnalysisWorker`."""

    def __init__(
        self,
        *,
        scans: ScansRepository,
        storage: ImageStorage,
        limits: ImageLimits,
        enqueue: Callable[[str, str], None],
        limiter: RateLimiter | None = None,
        scans_per_day: int = 0,
        photo_checks_per_day: int = 0,
        upload_expiry_seconds: int = 3600,
    ) -> None:
        self._limiter = limiter
        self._scans_per_day = scans_per_day
        self._photo_checks_per_day = photo_checks_per_day
        self._scans = scans
        self._storage = storage
        self._limits = limits
        self._enqueue = enqueue
        self._upload_expiry = timedelta(seconds=upload_expiry_seconds)

    # ---- create ----

    def create(
        self, *, user_id: str, angles: list[ScanAngle], idempotency_key: str | None
    ) -> tuple[ScanRecord, dict[str, UploadTarget]]:
        """A scan awaiting its photos, with one upload target per angle.

        A repeat with the same `Idempotency-Key` answers with the first scan (fresh upload
        targets while it still awaits photos) and is not charged again; a key whose scan was
        deleted starts a new scan.
        """
        ordered = _ordered_angles(angles)
        if idempotency_key:
            first = self._scans.find_idempotent(
                user_id=user_id, key=idempotency_key, now_epoch=int(time.time())
            )
            if first is not None:
                return self._replay(first, ordered), self.upload_targets(first)
        self._count_against_quota(user_id)
        scan, created = self._new_scan(user_id=user_id, angles=ordered, idempotency_key=idempotency_key)
        if not created:  # a concurrent request with the same key won: it paid, we do not
            self._refund(user_id)
            scan = self._replay(scan, ordered)
        return scan, self.upload_targets(scan)

    def _new_scan(
        self, *, user_id: str, angles: list[str], idempotency_key: str | None
    ) -> tuple[ScanRecord, bool]:
        now = utc_now()
        scan_id = new_id()
        scan = ScanRecord(
            user_id=user_id,
            scan_id=scan_id,
            scan_date=iso(now),
            status="awaiting_upload",
            angles=angles,
            upload_keys={angle: upload_key(user_id, scan_id, angle) for angle in angles},
            created_at=iso(now),
            updated_at=iso(now),
            idempotency_key=idempotency_key,
        )
        try:
            return self._scans.create(
                scan=scan,
                idempotency_ttl_epoch=int((now + IDEMPOTENCY_TTL).timestamp()),
                now_epoch=int(now.timestamp()),
            )
        except ScanGoneError as exc:
            # The account was deleted (or is being deleted) after this request was authenticated.
            raise AccountGoneError() from exc

    @staticmethod
    def _replay(first: ScanRecord, angles: list[str]) -> ScanRecord:
        if first.angles != angles:
            raise ConflictError(
                "This Idempotency-Key was used for a scan with other angles.",
                code="idempotency_key_reused",
                details={"scan_id": first.scan_id, "angles": first.angles},
            )
        return first

    def _count_against_quota(self, user_id: str) -> None:
        """Analysis is the expensive part of the product: a daily per-user quota."""
        if self._limiter and self._scans_per_day:
            self._limiter.hit(
                owner=user_id,
                name="scans",
                limit=self._scans_per_day,
                window_seconds=86400,
                message=f"You can start or retry {self._scans_per_day} scans a day; try again tomorrow.",
            )

    def _refund(self, user_id: str) -> None:
        if self._limiter and self._scans_per_day:
            self._limiter.refund(owner=user_id, name="scans", window_seconds=86400)

    def _count_photo_check(self, user_id: str) -> None:
        """Decoding photos costs memory and CPU: a submit that decodes is counted, so a
        photo that fails the check cannot be re-submitted without end."""
        if self._limiter and self._photo_checks_per_day:
            self._limiter.hit(
                owner=user_id,
                name="photo_checks",
                limit=self._photo_checks_per_day,
                window_seconds=86400,
                message=f"Photos can be checked {self._photo_checks_per_day} times a day; try again tomorrow.",
            )

    def upload_targets(self, scan: ScanRecord) -> dict[str, UploadTarget]:
        if scan.status != "awaiting_upload":
            return {}
        return {
            angle: self._storage.upload_target(
                key=scan.upload_keys[angle],
                content_types=ACCEPTED_CONTENT_TYPES,
                max_bytes=self._limits.max_bytes,
            )
            for angle in scan.angles
        }

    # ---- uploads ----

    def accept_upload(self, *, key: str, store: Callable[[], object]) -> None:
        """Store a photo sent to an upload URL, but only into a scan still awaiting its photos
        (404 once the scan or account is gone, 409 once it was submitted or expired)."""
        owner = parse_upload_key(key)
        if owner is None:
            raise NotFoundError("This upload link does not belong to a scan.", code="scan_not_found")
        user_id, scan_id = owner
        self._require_awaiting(self._scans.get(user_id=user_id, scan_id=scan_id))
        store()
        # Checked again after the write, in one transaction with the user: a deletion that
        # began meanwhile either sees this file (it deletes after its own first write) or
        # makes this check fail, and then the file is removed here.
        if not self._scans.accepts_uploads(user_id=user_id, scan_id=scan_id):
            self._storage.delete_prefix(prefix=key)
            current = self._scans.get(user_id=user_id, scan_id=scan_id)
            if current is not None and current.status == "awaiting_upload":
                raise AccountGoneError()
            self._require_awaiting(current)

    @staticmethod
    def _require_awaiting(scan: ScanRecord | None) -> ScanRecord:
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

    def submit(self, *, user_id: str, scan_id: str) -> ScanRecord:
        """Check every expected photo arrived and is a usable image, then queue the analysis."""
        scan = self.get(user_id=user_id, scan_id=scan_id)
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
        self._count_photo_check(user_id)
        cleaned = {
            angle: clean_image(data, limits=self._limits, angle=angle).jpeg
            for angle, data in raw.items()
            if data is not None
        }
        return self._store_and_queue(scan, cleaned)

    def create_from_upload(self, *, user_id: str, images: dict[str, bytes]) -> ScanRecord:
        """The one-call path: photos in the request, analysis queued."""
        if "front" not in images:
            raise UnprocessableError("A front photo is required.", code="front_image_required")
        # Charged before decoding: a scan whose photo turns out to be unusable still cost the
        # decode, so bad photos cannot be sent without end. Validated before creating
        # anything, so a bad photo leaves no half-made scan behind.
        angles = _ordered_angles([ScanAngle(a) for a in images])
        self._count_against_quota(user_id)
        cleaned = {
            angle: clean_image(data, limits=self._limits, angle=angle).jpeg for angle, data in images.items()
        }
        scan, _ = self._new_scan(user_id=user_id, angles=angles, idempotency_key=None)
        return self._store_and_queue(scan, cleaned)

    def _store_and_queue(self, scan: ScanRecord, images: dict[str, bytes]) -> ScanRecord:
        """Store the checked photos, move the scan to `queued` and hand it to the worker."""
        keys = {angle: image_key(scan.user_id, scan.scan_id, angle) for angle in scan.angles}
        for angle, key in keys.items():
            self._storage.put(key=key, data=images[angle], content_type="image/jpeg")
        now = iso(utc_now())
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
        self._storage.delete_prefix(prefix=raw_upload_prefix(scan.user_id, scan.scan_id))
        self._enqueue(scan.user_id, scan.scan_id)
        logger.info("scan queued", extra={"scan_id": scan.scan_id, "angles": scan.angles})
        return scan.model_copy(
            update={"status": "queued", "image_keys": keys, "submitted_at": now, "updated_at": now}
        )

    # ---- reads ----

    def get(self, *, user_id: str, scan_id: str) -> ScanRecord:
        """One of the user's scans; another user's scan is simply not found."""
        scan = self._scans.get(user_id=user_id, scan_id=scan_id)
        if scan is None:
            raise ScanNotFoundError()
        return scan

    def get_page(
        self, *, user_id: str, limit: int, cursor: str | None, date_from: str | None, date_to: str | None
    ) -> tuple[list[ScanRecord], str | None]:
        return self._scans.get_page(
            user_id=user_id, limit=limit, cursor=cursor, date_from=date_from, date_to=date_to
        )

    def completed_between(self, *, user_id: str, date_from: str, date_to: str) -> list[ScanRecord]:
        """Completed, quality-passed scans in the range, oldest first (progress)."""
        return self._scans.completed_between(user_id=user_id, date_from=date_from, date_to=date_to)

    # ---- delete, retry ----

    def delete(self, *, user_id: str, scan_id: str) -> None:
        """The item first, then the files: every later write (an upload, the worker's result)
        is conditional on the item and removes its own file when refused; a crash between the
        two steps leaves files with no scan, which the orphan sweep removes."""
        scan = self.get(user_id=user_id, scan_id=scan_id)
        self._scans.delete(user_id=user_id, scan_id=scan.scan_id, created_at=scan.created_at)
        for prefix in scan_prefixes(user_id, scan.scan_id):
            self._storage.delete_prefix(prefix=prefix)
        logger.info("scan deleted", extra={"scan_id": scan_id})

    def retry(self, *, user_id: str, scan_id: str) -> ScanRecord:
        """Queue a failed scan again with a fresh budget of automatic attempts; a retry is
        another analysis, so it counts against the daily scan quota."""
        scan = self.get(user_id=user_id, scan_id=scan_id)
        if scan.status != "failed":
            raise ConflictError(
                "Only a failed scan can be retried.", code="scan_not_failed", details={"status": scan.status}
            )
        self._count_against_quota(user_id)
        now = iso(utc_now())
        if not self._scans.requeue(scan=scan, now=now):
            self._refund(user_id)
            raise ConflictError("The scan changed meanwhile; reload it.", code="scan_changed")
        self._enqueue(user_id, scan_id)
        return scan.model_copy(
            update={
                "status": "queued",
                "failure": None,
                "submitted_at": now,
                "updated_at": now,
                "attempts": 0,
            }
        )

    def overlay(self, *, user_id: str, scan_id: str) -> bytes:
        scan = self.get(user_id=user_id, scan_id=scan_id)
        data = self._storage.get(key=scan.overlay_key) if scan.overlay_key else None
        if data is None:
            raise NotFoundError("This scan has no overlay (yet).", code="overlay_not_available")
        return data

    def image_urls(self, scan: ScanRecord) -> dict[str, str]:
        return {angle: self._storage.download_url(key=key) for angle, key in scan.image_keys.items()}

    # ---- sweeps (periodic, see `MaintenanceSweeper`) ----

    def expire_abandoned_uploads(self, *, now: datetime | None = None) -> int:
        """Scans still awaiting photos long after their upload links expired: delete the raw
        uploads (EXIF and GPS still inside) and mark the scan `expired`. Returns how many."""
        now = now or utc_now()
        cutoff = iso(now - self._upload_expiry)
        expired = 0
        while True:
            batch = self._scans.abandoned_uploads(created_before=cutoff)
            for user_id, scan_id, created_at in batch:
                scan = self._scans.get(user_id=user_id, scan_id=scan_id)
                if scan is not None and scan.status == "awaiting_upload":
                    self._scans.expire(scan=scan, now=iso(now))
                    scan = self._scans.get(user_id=user_id, scan_id=scan_id)
                if scan is None or scan.status == "expired":
                    # Status first, files second, marker last: a crash in between is redone.
                    for prefix in scan_prefixes(user_id, scan_id):
                        self._storage.delete_prefix(prefix=prefix)
                    expired += scan is not None
                self._scans.drop_expiry_marker(user_id=user_id, scan_id=scan_id, created_at=created_at)
            if len(batch) < 100:
                break
        if expired:
            logger.info("expired abandoned uploads", extra={"count": expired})
        return expired

    def sweep_orphans(
        self, *, grace_seconds: float = ORPHAN_GRACE_SECONDS, now_epoch: float | None = None
    ) -> int:
        """Delete files a crash left behind: photos of scans that no longer exist, and raw
        uploads of scans no longer awaiting them. Returns how many scans' files were removed."""
        cutoff = (time.time() if now_epoch is None else now_epoch) - grace_seconds
        newest: dict[tuple[str, str, str], float] = {}
        for root, depth in (("users/", 3), (RAW_UPLOADS_ROOT, 2)):
            for key, modified in self._storage.list_objects(prefix=root):
                parts = key.split("/")
                if root == "users/" and (len(parts) < 5 or parts[2] != "scans"):
                    continue
                if len(parts) <= depth:
                    continue
                group = (root, parts[1], parts[depth])
                newest[group] = max(newest.get(group, 0.0), modified)
        removed = 0
        for (root, user_id, scan_id), modified in newest.items():
            if modified > cutoff:
                continue  # possibly still being written or cleaned up by its writer
            scan = self._scans.get(user_id=user_id, scan_id=scan_id)
            if root == "users/" and scan is None:
                self._storage.delete_prefix(prefix=scan_prefix(user_id, scan_id))
            elif root == RAW_UPLOADS_ROOT and (scan is None or scan.status != "awaiting_upload"):
                self._storage.delete_prefix(prefix=raw_upload_prefix(user_id, scan_id))
            else:
                continue
            removed += 1
            logger.info("removed orphaned files", extra={"scan_id": scan_id, "prefix": root})
        return removed


def _ordered_angles(angles: list[ScanAngle]) -> list[str]:
    chosen = {ScanAngle(a).value for a in angles}
    if "front" not in chosen:
        raise UnprocessableError("The front angle is required.", code="front_image_required")
    return [a.value for a in ScanAngle if a.value in chosen]
