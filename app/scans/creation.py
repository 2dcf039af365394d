"""Starting scans: the two-step path (upload targets, then submit) and the one-call upload."""

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from app.core.beside import Beside
from app.core.errors import ConflictError, UnprocessableError
from app.core.security import iso, new_id, utc_now
from app.core.vocabulary import ScanAngle
from app.db.keys import raw_upload_key, scan_image_key
from app.providers.storage.base import ImageStorage, UploadTarget
from app.scans.errors import AccountGoneError
from app.scans.intake import ACCEPTED_CONTENT_TYPES, ImageLimits, check_photo
from app.scans.models import ScanGoneError, ScanRecord
from app.scans.quota import ScanQuota
from app.scans.repository import ScansRepository

logger = logging.getLogger("dermalens.scans")

IDEMPOTENCY_TTL = timedelta(hours=24)
Enqueue = Callable[[str, str], None]


class EarlyHandle(Protocol):
    """An analysis begun before its scan is written (see `AnalysisWorker.start_early`)."""

    def photos_decoded(self) -> bool: ...

    def claimed(self) -> ScanRecord: ...

    def created(self) -> None: ...

    def cancel(self) -> None: ...


# Begin analysing a one-call upload's checked photos while its request writes the scan;
# None when no worker here is free (the scan is then enqueued once written, as always).
StartEarly = Callable[[ScanRecord, dict[str, bytes]], EarlyHandle | None]


def ordered_angles(angles: list[ScanAngle]) -> list[str]:
    """The chosen angles in their canonical order; `front` is required."""
    chosen = {ScanAngle(a).value for a in angles}
    if "front" not in chosen:
        raise UnprocessableError("The front angle is required.", code="front_image_required")
    return [a.value for a in ScanAngle if a.value in chosen]


class ScanCreator:
    """New scans, charged against the daily quota once (a replayed create is not charged)."""

    def __init__(
        self,
        *,
        scans: ScansRepository,
        storage: ImageStorage,
        limits: ImageLimits,
        quota: ScanQuota,
        enqueue: Enqueue,
        start_early: StartEarly | None = None,
    ) -> None:
        self._scans = scans
        self._storage = storage
        self._limits = limits
        self._quota = quota
        self._enqueue = enqueue
        self._start_early = start_early

    def create(
        self, *, user_id: str, angles: list[ScanAngle], idempotency_key: str | None
    ) -> tuple[ScanRecord, dict[str, UploadTarget]]:
        """A scan awaiting its photos, with one upload target per angle.

        A repeat with the same `Idempotency-Key` answers with the first scan (fresh upload
        targets while it still awaits photos) and is not charged again; a key whose scan was
        deleted starts a new scan.
        """
        ordered = ordered_angles(angles)
        if idempotency_key:
            first = self._scans.find_idempotent(
                user_id=user_id, key=idempotency_key, now_epoch=int(time.time())
            )
            if first is not None:
                return self._replay(first, ordered), self.upload_targets(first)
        self._quota.charge_scan(user_id=user_id)
        now = utc_now()
        scan_id = new_id()
        scan = ScanRecord(
            user_id=user_id,
            scan_id=scan_id,
            scan_date=iso(now),
            status="awaiting_upload",
            angles=ordered,
            upload_keys={angle: raw_upload_key(user_id, scan_id, angle) for angle in ordered},
            created_at=now,
            updated_at=now,
            idempotency_key=idempotency_key,
        )
        try:
            scan, created = self._scans.create(
                scan=scan,
                idempotency_ttl_epoch=int((now + IDEMPOTENCY_TTL).timestamp()),
                now_epoch=int(now.timestamp()),
            )
        except ScanGoneError as exc:
            # The account was deleted (or is being deleted) after this request was authenticated.
            raise AccountGoneError() from exc
        if not created:  # a concurrent request with the same key won: it paid, we do not
            self._quota.refund_scan(user_id=user_id)
            scan = self._replay(scan, ordered)
        return scan, self.upload_targets(scan)

    def create_from_upload(self, *, user_id: str, images: dict[str, bytes]) -> ScanRecord:
        """The one-call path: photos in the request, the scan stored in one write: `queued`, or
        `processing` when a worker of this process took the photos on the spot."""
        if "front" not in images:
            raise UnprocessableError("A front photo is required.", code="front_image_required")
        angles = ordered_angles([ScanAngle(a) for a in images])
        # Charged before anything is decoded: a scan whose photo turns out to be unusable still
        # cost the decode, so bad photos cannot be sent without end. The charge's write runs
        # beside the header checks and the metadata cut (which decode nothing); its refusal
        # comes first, and nothing is handed over or decoded before it is known.
        charge = Beside(lambda: self._quota.charge_scan(user_id=user_id), name="scan-quota").start()
        try:
            checks = {
                angle: check_photo(data, limits=self._limits, angle=angle) for angle, data in images.items()
            }
        finally:
            charge.result()
        now = utc_now()
        scan_id = new_id()
        keys = {angle: scan_image_key(user_id, scan_id, angle) for angle in angles}
        scan = ScanRecord(
            user_id=user_id,
            scan_id=scan_id,
            scan_date=iso(now),
            status="queued",
            angles=angles,
            image_keys=keys,
            created_at=now,
            updated_at=now,
            submitted_at=now,
        )
        # A JPEG kept as is (most phone photos) is known in its stored form before it is
        # decoded: an idle worker starts on it now. Its decode, the analysis's first step, is
        # strict, so it is also the photo's check: the request waits for it instead of
        # decoding the photo a second time (one decode fewer on the two cores; a photo it
        # could not decode is decoded here, to be refused as before). Then the request stores
        # the photo and writes the item; the worker records the scan only after `created()`,
        # so it never records a scan that is not there, and a refused photo cancels it.
        # Anything else is re-encoded first, then handed over.
        stored = {angle: check.stored for angle, check in checks.items() if check.stored is not None}
        early = self._start_early(scan, stored) if self._start_early and len(stored) == len(checks) else None
        try:
            decoded = early is not None and early.photos_decoded()
            cleaned = {angle: check.complete(decoded=decoded).jpeg for angle, check in checks.items()}
            if early is None and self._start_early:
                early = self._start_early(scan, cleaned)
            # Taken by a worker: written already `processing` under its lease (one write
            # fewer than a claim after the create); otherwise `queued`, for the queue.
            if early is not None:
                scan = early.claimed()
            self._store_queued(scan, keys, cleaned)
        except BaseException:
            if early is not None:
                early.cancel()
            raise
        if early is not None:
            early.created()
        else:
            self._enqueue(user_id, scan_id)
        logger.info("scan stored", extra={"scan_id": scan_id, "angles": angles, "status": scan.status})
        return scan

    def _store_queued(self, scan: ScanRecord, keys: dict[str, str], images: dict[str, bytes]) -> None:
        """Photos first, item second: the worker only ever sees a scan whose photos exist, and
        a crash in between leaves files with no scan, which the orphan sweep removes."""
        for angle, key in keys.items():
            self._storage.put(key=key, data=images[angle], content_type="image/jpeg")
        try:
            self._scans.create_queued(scan=scan)
        except ScanGoneError as exc:
            # The account was deleted (or is being deleted) meanwhile: its photos must not outlive it.
            for key in keys.values():
                self._storage.delete_prefix(prefix=key)
            raise AccountGoneError() from exc

    def upload_targets(self, scan: ScanRecord) -> dict[str, UploadTarget]:
        """Signed upload targets, one per angle, while the scan still awaits its photos."""
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

    @staticmethod
    def _replay(first: ScanRecord, angles: list[str]) -> ScanRecord:
        if first.angles != angles:
            raise ConflictError(
                "This Idempotency-Key was used for a scan with other angles.",
                code="idempotency_key_reused",
                details={"scan_id": first.scan_id, "angles": first.angles},
            )
        return first
