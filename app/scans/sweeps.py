"""Periodic housekeeping in the background: abandoned uploads expire, crash leftovers go."""

import asyncio
import logging

from app.scans.service import ScanService

logger = logging.getLogger("dermalens.sweeps")


class MaintenanceSweeper:
    """Every `interval_seconds`: expire abandoned uploads, then remove orphaned files.

    Safe on several instances at once (every step is idempotent or conditional); one
    failing run is logged and the next one tries again.
    """

    def __init__(self, *, scans: ScanService, interval_seconds: float, first_run_after: float = 30.0) -> None:
        self._scans = scans
        self._interval = interval_seconds
        self._first = first_run_after
        self._task: asyncio.Task[None] | None = None

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
            counts = await asyncio.to_thread(self.run_once)
            if any(counts.values()):
                logger.info("sweep finished", extra=counts)
            await asyncio.sleep(self._interval)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            self._task = None
