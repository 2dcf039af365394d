"""Periodic housekeeping in the background: abandoned uploads expire, crash leftovers go."""

import asyncio
import logging
import time
from datetime import datetime, timedelta
from typing import Protocol

from app.core.errors import DomainError
from app.core.security import iso, utc_now
from app.db.keys import (
    RAW_UPLOADS_ROOT,
    SCAN_FILES_ROOT,
    parse_scan_file_key,
    raw_upload_prefix,
    scan_file_prefixes,
    scan_files_prefix,
)
from app.db.leases import IntervalLeases
from app.providers.storage.base import ImageStorage
from app.scans.repository import ScansRepository

logger = logging.getLogger("dermalens.sweeps")

# A file with no scan is only removed by the sweep once it is this old: a writer whose
# conditional write was refused deletes its own files within seconds, so anything older
# was left by a crash.
ORPHAN_GRACE_SECONDS = 3600
ABANDONED_BATCH = 100


class ScanHousekeeping:
    """The sweeps' work on scans and their files; every step is idempotent or conditional."""

    def __init__(self, *, scans: ScansRepository, storage: ImageStorage, upload_expiry: timedelta) -> None:
        self._scans = scans
        self._storage = storage
        self._upload_expiry = upload_expiry

    def expire_abandoned_uploads(self, *, now: datetime | None = None) -> int:
        """Scans still awaiting photos long after their upload links expired: delete the raw
        uploads (EXIF and GPS still inside) and mark the scan `expired`. Returns how many."""
        now = now or utc_now()
        cutoff = iso(now - self._upload_expiry)
        expired = 0
        while True:
            batch = self._scans.abandoned_uploads(created_before=cutoff, limit=ABANDONED_BATCH)
            for user_id, scan_id, created_at in batch:
                scan = self._scans.get(user_id=user_id, scan_id=scan_id)
                if scan is not None and scan.status == "awaiting_upload":
                    self._scans.expire(scan=scan, now=iso(now))
                    scan = self._scans.get(user_id=user_id, scan_id=scan_id)
                if scan is None or scan.status == "expired":
                    # Status first, files second, marker last: a crash in between is redone.
                    for prefix in scan_file_prefixes(user_id, scan_id):
                        self._storage.delete_prefix(prefix=prefix)
                    expired += scan is not None
                self._scans.drop_expiry_marker(user_id=user_id, scan_id=scan_id, created_at=created_at)
            if len(batch) < ABANDONED_BATCH:
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
        for root in (SCAN_FILES_ROOT, RAW_UPLOADS_ROOT):
            for key, modified in self._storage.list_objects(prefix=root):
                group = parse_scan_file_key(key)
                if group is not None:
                    newest[group] = max(newest.get(group, 0.0), modified)
        removed = 0
        for (root, user_id, scan_id), modified in newest.items():
            if modified > cutoff:
                continue  # possibly still being written or cleaned up by its writer
            scan = self._scans.get(user_id=user_id, scan_id=scan_id)
            if root == SCAN_FILES_ROOT and scan is None:
                self._storage.delete_prefix(prefix=scan_files_prefix(user_id, scan_id))
            elif root == RAW_UPLOADS_ROOT and (scan is None or scan.status != "awaiting_upload"):
                self._storage.delete_prefix(prefix=raw_upload_prefix(user_id, scan_id))
            else:
                continue
            removed += 1
            logger.info("removed orphaned files", extra={"scan_id": scan_id, "prefix": root})
        return removed


class SweepSteps(Protocol):
    """What the sweeper runs (the scan service, or `ScanHousekeeping` itself)."""

    def expire_abandoned_uploads(self) -> int: ...

    def sweep_orphans(self) -> int: ...


class MaintenanceSweeper:
    """Every `interval_seconds`: expire abandoned uploads, then remove orphaned files.

    Every instance schedules it; with `leases`, only the instance that takes the interval's
    lease runs it (listing the whole bucket once per interval, not once per instance). Each
    step is idempotent or conditional anyway, and one failing run is logged and the next
    one tries again.
    """

    LEASE_NAME = "storage-sweep"

    def __init__(
        self,
        *,
        scans: SweepSteps,
        interval_seconds: float,
        first_run_after: float = 30.0,
        leases: IntervalLeases | None = None,
        instance_id: str = "",
    ) -> None:
        self._scans = scans
        self._interval = interval_seconds
        self._first = first_run_after
        self._leases = leases
        self._instance_id = instance_id
        self._task: asyncio.Task[None] | None = None

    def run_if_leased(self) -> dict[str, int] | None:
        """One sweep if this instance wins the current interval's lease; None if another did."""
        window = None
        if self._leases is not None:
            window = self._leases.acquire(
                name=self.LEASE_NAME, holder=self._instance_id, interval_seconds=self._interval
            )
            if window is None:
                return None
        counts = self.run_once()
        logger.info(
            "maintenance sweep ran", extra={**counts, "instance": self._instance_id, "window": window}
        )
        return counts

    def run_once(self) -> dict[str, int]:
        """One sweep (also what tests and a CLI call); returns what it did."""
        counts = {"expired_uploads": 0, "orphans_removed": 0}
        for name, step in (
            ("expired_uploads", self._scans.expire_abandoned_uploads),
            ("orphans_removed", self._scans.sweep_orphans),
        ):
            try:
                counts[name] = step()
            except Exception:
                logger.exception("sweep step failed", extra={"step": name})
        return counts

    async def start(self) -> None:
        if self._interval > 0:
            self._task = asyncio.create_task(self._forever())

    async def _forever(self) -> None:
        await asyncio.sleep(self._first)
        while True:
            try:
                await asyncio.to_thread(self.run_if_leased)
            except DomainError as exc:
                logger.warning("sweep skipped: %s", exc.message)
            await asyncio.sleep(self._interval)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            self._task = None
