"""Scan lifecycle: create → upload → submit → (worker) analyse → completed | failed.

`ScanService` is the one entry point routes, the sweeper and a CLI use; the work is split by
responsibility: `creation` (new scans, idempotency, the one-call upload), `uploads` (raw
uploads and submit), `reads` (read models, pages, progress), `sweeps` (expiry, orphans).
"""

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta

from app.core.errors import ConflictError
from app.core.rate_limit import RateLimiter
from app.core.security import iso, utc_now
from app.core.vocabulary import ScanAngle
from app.db.keys import scan_file_prefixes, scan_image_key, scan_overlay_key, user_file_prefixes
from app.providers.storage.base import ImageStorage, UploadTarget
from app.scans.creation import Enqueue, ScanCreator, StartEarly
from app.scans.errors import AccountGoneError, ScanExpiredError, ScanNotFoundError
from app.scans.intake import ImageLimits
from app.scans.models import ScanRecord
from app.scans.quota import ScanQuota
from app.scans.reads import ScanReader
from app.scans.repository import ScansRepository
from app.scans.schemas import ProgressRead, ScanView
from app.scans.sweeps import ORPHAN_GRACE_SECONDS, ScanHousekeeping
from app.scans.uploads import UploadIntake

logger = logging.getLogger("dermalens.scans")

# Kept importable from here for the callers that still do (account erasure, worker, tests).
image_key = scan_image_key
overlay_key = scan_overlay_key
user_prefixes = user_file_prefixes

__all__ = [
    "AccountGoneError",
    "ScanExpiredError",
    "ScanNotFoundError",
    "ScanService",
    "image_key",
    "overlay_key",
    "user_prefixes",
]


class ScanService:
    """Everything a user does with scans; analysis itself runs in `AnalysisWorker`."""

    def __init__(
        self,
        *,
        scans: ScansRepository,
        storage: ImageStorage,
        limits: ImageLimits,
        enqueue: Enqueue,
        limiter: RateLimiter | None = None,
        scans_per_day: int = 0,
        photo_checks_per_day: int = 0,
        upload_expiry_seconds: int = 3600,
        start_early: StartEarly | None = None,
    ) -> None:
        self._scans = scans
        self._storage = storage
        self._enqueue = enqueue
        self._quota = ScanQuota(
            limiter=limiter, scans_per_day=scans_per_day, photo_checks_per_day=photo_checks_per_day
        )
        self._creator = ScanCreator(
            scans=scans,
            storage=storage,
            limits=limits,
            quota=self._quota,
            enqueue=enqueue,
            start_early=start_early,
        )
        self._intake = UploadIntake(
            scans=scans, storage=storage, limits=limits, quota=self._quota, enqueue=enqueue
        )
        self._reader = ScanReader(scans=scans, storage=storage)
        self._housekeeping = ScanHousekeeping(
            scans=scans, storage=storage, upload_expiry=timedelta(seconds=upload_expiry_seconds)
        )

    # ---- create, upload, submit ----

    def create(
        self, *, user_id: str, angles: list[ScanAngle], idempotency_key: str | None
    ) -> tuple[ScanRecord, dict[str, UploadTarget]]:
        """A scan awaiting its photos, with one upload target per angle (idempotent by key)."""
        return self._creator.create(user_id=user_id, angles=angles, idempotency_key=idempotency_key)

    def create_from_upload(self, *, user_id: str, images: dict[str, bytes]) -> ScanView:
        """The one-call path: photos in the request, the scan stored queued in one write."""
        return self._reader.view(self._creator.create_from_upload(user_id=user_id, images=images))

    def accept_upload(self, *, key: str, store: Callable[[], object]) -> None:
        """Store a photo sent to an upload URL, only into a scan still awaiting its photos."""
        self._intake.accept_upload(key=key, store=store)

    def submit(self, *, user_id: str, scan_id: str) -> ScanView:
        """Check every expected photo arrived and is a usable image, then queue the analysis."""
        scan = self._reader.get(user_id=user_id, scan_id=scan_id)
        return self._reader.view(self._intake.submit(scan=scan))

    # ---- reads ----

    def get(self, *, user_id: str, scan_id: str) -> ScanRecord:
        """One of the user's scans; another user's scan is simply not found."""
        return self._reader.get(user_id=user_id, scan_id=scan_id)

    def read(self, *, user_id: str, scan_id: str) -> ScanView:
        """One of the user's scans as the routes answer it."""
        return self._reader.view(self._reader.get(user_id=user_id, scan_id=scan_id))

    def list_page(
        self,
        *,
        user_id: str,
        limit: int,
        cursor: str | None,
        date_from: date | None,
        date_to: date | None,
    ) -> tuple[list[ScanView], str | None]:
        """Newest first, optionally within an inclusive date range (400 if it is reversed)."""
        return self._reader.list_page(
            user_id=user_id, limit=limit, cursor=cursor, date_from=date_from, date_to=date_to
        )

    def progress(
        self,
        *,
        user_id: str,
        metric: str | None,
        date_from: date | None,
        date_to: date | None,
    ) -> ProgressRead:
        """Per-metric series and trends over completed scans that passed the quality check."""
        return self._reader.progress(user_id=user_id, metric=metric, date_from=date_from, date_to=date_to)

    def overlay(self, *, user_id: str, scan_id: str) -> bytes:
        """The annotated front photo of one of the user's scans."""
        return self._reader.overlay(user_id=user_id, scan_id=scan_id)

    # ---- delete, retry ----

    def delete(self, *, user_id: str, scan_id: str) -> None:
        """The item first, then the files: every later write (an upload, the worker's result)
        is conditional on the item and removes its own file when refused; a crash between the
        two steps leaves files with no scan, which the orphan sweep removes."""
        scan = self.get(user_id=user_id, scan_id=scan_id)
        self._scans.delete(user_id=user_id, scan_id=scan.scan_id, created_at=scan.created_at)
        for prefix in scan_file_prefixes(user_id, scan.scan_id):
            self._storage.delete_prefix(prefix=prefix)
        logger.info("scan deleted", extra={"scan_id": scan_id})

    def retry(self, *, user_id: str, scan_id: str) -> ScanView:
        """Queue a failed scan again with a fresh budget of automatic attempts; a retry is
        another analysis, so it counts against the daily scan quota."""
        scan = self.get(user_id=user_id, scan_id=scan_id)
        if scan.status != "failed":
            raise ConflictError(
                "Only a failed scan can be retried.", code="scan_not_failed", details={"status": scan.status}
            )
        self._quota.charge_scan(user_id=user_id)
        moment = utc_now()
        now = iso(moment)
        if not self._scans.requeue(scan=scan, now=now):
            self._quota.refund_scan(user_id=user_id)
            raise ConflictError("The scan changed meanwhile; reload it.", code="scan_changed")
        self._enqueue(user_id, scan_id)
        queued = scan.model_copy(
            update={
                "status": "queued",
                "failure": None,
                "submitted_at": moment,
                "updated_at": moment,
                "attempts": 0,
            }
        )
        return self._reader.view(queued)

    # ---- sweeps (periodic, see `MaintenanceSweeper`) ----

    def expire_abandoned_uploads(self, *, now: datetime | None = None) -> int:
        """Expire scans whose photos never came and delete their raw uploads; returns how many."""
        return self._housekeeping.expire_abandoned_uploads(now=now)

    def sweep_orphans(
        self, *, grace_seconds: float = ORPHAN_GRACE_SECONDS, now_epoch: float | None = None
    ) -> int:
        """Delete files a crash left behind; returns how many scans' files were removed."""
        return self._housekeeping.sweep_orphans(grace_seconds=grace_seconds, now_epoch=now_epoch)
