"""Scan lifecycle: create → upload → submit → (worker) analyse → completed | failed."""

import logging
from collections.abc import Callable
from datetime import timedelta

from app.core.errors import ConflictError, NotFoundError, UnprocessableError
from app.core.security import iso, new_id, utc_now
from app.core.vocabulary import ScanAngle
from app.repositories.scans import ScanRecord, ScansRepository
from app.services.images import ACCEPTED_CONTENT_TYPES, ImageLimits, clean_image
from app.services.quotas import RateLimiter
from app.services.storage.base import ImageStorage, UploadTarget

logger = logging.getLogger("dermalens.scans")

IDEMPOTENCY_TTL = timedelta(hours=24)


class ScanNotFoundError(NotFoundError):
    code = "scan_not_found"
    message = "No such scan."


def scan_prefix(user_id: str, scan_id: str) -> str:
    return f"users/{user_id}/scans/{scan_id}/"


def image_key(user_id: str, scan_id: str, angle: str) -> str:
    return f"{scan_prefix(user_id, scan_id)}{angle}.jpg"


def upload_key(user_id: str, scan_id: str, angle: str) -> str:
    # Raw uploads land apart from the checked image, so a late re-upload through a still
    # valid URL can never replace a photo that was already validated and stripped.
    return f"{scan_prefix(user_id, scan_id)}uploads/{angle}"


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
    ) -> None:
        self._limiter = limiter
        self._scans_per_day = scans_per_day
        self._scans = scans
        self._storage = storage
        self._limits = limits
        self._enqueue = enqueue

    def create(
        self, *, user_id: str, angles: list[ScanAngle], idempotency_key: str | None
    ) -> tuple[ScanRecord, dict[str, UploadTarget]]:
        """A scan awaiting its photos, with one upload target per angle."""
        ordered = _ordered_angles(angles)
        self._count_against_quota(user_id)
        now = utc_now()
        scan_id = new_id()
        scan = ScanRecord(
            user_id=user_id,
            scan_id=scan_id,
            scan_date=iso(now),
            status="awaiting_upload",
            angles=ordered,
            upload_keys={angle: upload_key(user_id, scan_id, angle) for angle in ordered},
            created_at=iso(now),
            updated_at=iso(now),
            idempotency_key=idempotency_key,
        )
        scan = self._scans.create(scan=scan, idempotency_ttl_epoch=int((now + IDEMPOTENCY_TTL).timestamp()))
        return scan, self.upload_targets(scan)

    def _count_against_quota(self, user_id: str) -> None:
        """Analysis is the expensive part of the product: a daily per-user quota."""
        if self._limiter and self._scans_per_day:
            self._limiter.hit(
                owner=user_id,
                name="scans",
                limit=self._scans_per_day,
                window_seconds=86400,
                message=f"You can start {self._scans_per_day} scans a day; try again tomorrow.",
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

    def submit(self, *, user_id: str, scan_id: str) -> ScanRecord:
        """Check every expected photo arrived and is a usable image, then queue the analysis."""
        scan = self.get(user_id=user_id, scan_id=scan_id)
        if scan.status != "awaiting_upload":
            if scan.status in {"queued", "processing", "completed"}:
                return scan  # a retried submit is harmless
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
        # Validate before creating anything, so a bad photo leaves no half-made scan behind.
        cleaned = {
            angle: clean_image(data, limits=self._limits, angle=angle).jpeg for angle, data in images.items()
        }
        scan, _ = self.create(user_id=user_id, angles=[ScanAngle(a) for a in cleaned], idempotency_key=None)
        return self._store_and_queue(scan, cleaned)

    def _store_and_queue(self, scan: ScanRecord, images: dict[str, bytes]) -> ScanRecord:
        """Store the checked photos, move the scan to `queued` and hand it to the worker."""
        keys = {angle: image_key(scan.user_id, scan.scan_id, angle) for angle in scan.angles}
        for angle, key in keys.items():
            self._storage.put(key=key, data=images[angle], content_type="image/jpeg")
        now = iso(utc_now())
        moved = self._scans.mark_uploaded(scan=scan, image_keys=keys, now=now)
        self._storage.delete_prefix(prefix=f"{scan_prefix(scan.user_id, scan.scan_id)}uploads/")
        self._enqueue(scan.user_id, scan.scan_id)
        logger.info("scan queued", extra={"scan_id": scan.scan_id, "angles": scan.angles})
        if not moved:  # a concurrent submit got there first: report what it wrote
            return self.get(user_id=scan.user_id, scan_id=scan.scan_id)
        return scan.model_copy(
            update={"status": "queued", "image_keys": keys, "submitted_at": now, "updated_at": now}
        )

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

    def delete(self, *, user_id: str, scan_id: str) -> None:
        """Photos first, then the item: a failure halfway leaves a scan the user can delete again."""
        scan = self.get(user_id=user_id, scan_id=scan_id)
        self._storage.delete_prefix(prefix=scan_prefix(user_id, scan.scan_id))
        self._scans.delete(user_id=user_id, scan_id=scan.scan_id)
        logger.info("scan deleted", extra={"scan_id": scan_id})

    def retry(self, *, user_id: str, scan_id: str) -> ScanRecord:
        scan = self.get(user_id=user_id, scan_id=scan_id)
        if scan.status != "failed":
            raise ConflictError(
                "Only a failed scan can be retried.", code="scan_not_failed", details={"status": scan.status}
            )
        now = iso(utc_now())
        if not self._scans.requeue(scan=scan, now=now):
            raise ConflictError("The scan changed meanwhile; reload it.", code="scan_changed")
        self._enqueue(user_id, scan_id)
        return scan.model_copy(
            update={"status": "queued", "failure": None, "submitted_at": now, "updated_at": now}
        )

    def overlay(self, *, user_id: str, scan_id: str) -> bytes:
        scan = self.get(user_id=user_id, scan_id=scan_id)
        data = self._storage.get(key=scan.overlay_key) if scan.overlay_key else None
        if data is None:
            raise NotFoundError("This scan has no overlay (yet).", code="overlay_not_available")
        return data

    def image_urls(self, scan: ScanRecord) -> dict[str, str]:
        return {angle: self._storage.download_url(key=key) for angle, key in scan.image_keys.items()}


def _ordered_angles(angles: list[ScanAngle]) -> list[str]:
    chosen = {ScanAngle(a).value for a in angles} or {"front"}
    if "front" not in chosen:
        raise UnprocessableError("The front angle is required.", code="front_image_required")
    return [a.value for a in ScanAngle if a.value in chosen]
