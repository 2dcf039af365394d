"""Reading scans for the routes: one scan, pages, progress, the overlay (read models, not records)."""

from datetime import date

from app.core.errors import BadRequestError, NotFoundError
from app.providers.storage.base import ImageStorage
from app.scans.errors import ScanNotFoundError
from app.scans.models import ScanRecord
from app.scans.progress import progress
from app.scans.repository import ScansRepository
from app.scans.schemas import ProgressRead, ScanRead, ScanView


def date_bounds(date_from: date | None, date_to: date | None) -> tuple[str | None, str | None]:
    """Dates → inclusive ISO timestamp bounds comparable with stored `*_date`/`*_at` strings
    (400 `invalid_date_range` when `from` is after `to`)."""
    if date_from and date_to and date_from > date_to:
        raise BadRequestError("`from` must not be after `to`.", code="invalid_date_range")
    return (
        f"{date_from.isoformat()}T00:00:00" if date_from else None,
        f"{date_to.isoformat()}T23:59:59.999999Z~" if date_to else None,
    )


def is_first_page(*, cursor: str | None, date_from: date | None, date_to: date | None) -> bool:
    """The page the app opens on (no cursor, no range): the one read consistently and cached."""
    return cursor is None and date_from is None and date_to is None


class ScanReader:
    """What a user reads about their scans; another user's scan is simply not found."""

    def __init__(self, *, scans: ScansRepository, storage: ImageStorage) -> None:
        self._scans = scans
        self._storage = storage

    def get(self, *, user_id: str, scan_id: str) -> ScanRecord:
        """One of the user's scans (404 `scan_not_found` otherwise)."""
        scan = self._scans.get(user_id=user_id, scan_id=scan_id)
        if scan is None:
            raise ScanNotFoundError()
        return scan

    def view(self, scan: ScanRecord) -> ScanView:
        """The read model of a stored scan: regions per angle, download links."""
        read = ScanRead(**scan.model_dump(), regions=scan.regions(), image_urls=self.image_urls(scan))
        return ScanView(read=read, has_overlay=bool(scan.overlay_key))

    def image_urls(self, scan: ScanRecord) -> dict[str, str]:
        """angle → a short-lived download link of the checked photo."""
        return {angle: self._storage.download_url(key=key) for angle, key in scan.image_keys.items()}

    def list_page(
        self,
        *,
        user_id: str,
        limit: int,
        cursor: str | None,
        date_from: date | None,
        date_to: date | None,
    ) -> tuple[list[ScanView], str | None]:
        """Newest first, optionally within an inclusive date range.

        The first page without a range (what the app shows, and the one app/api/cached.py
        keeps) is read consistently, so it is never older than the user item read before it.
        """
        start, end = date_bounds(date_from, date_to)
        items, next_cursor = self._scans.get_page(
            user_id=user_id,
            limit=limit,
            cursor=cursor,
            date_from=start,
            date_to=end,
            consistent=is_first_page(cursor=cursor, date_from=date_from, date_to=date_to),
        )
        return [self.view(scan) for scan in items], next_cursor

    def progress(
        self,
        *,
        user_id: str,
        metric: str | None,
        date_from: date | None,
        date_to: date | None,
    ) -> ProgressRead:
        """Per-metric series over completed, quality-passed scans in the range, with trends
        (read consistently: app/api/cached.py keeps the answer)."""
        start, end = date_bounds(date_from, date_to)
        history = self._scans.completed_scores(
            user_id=user_id, date_from=start or "0000", date_to=end or "9999", consistent=True
        )
        return ProgressRead(
            date_from=date_from, date_to=date_to, scan_count=len(history), metrics=progress(history, metric)
        )

    def overlay(self, *, user_id: str, scan_id: str) -> bytes:
        """The annotated front photo (404 `overlay_not_available` until there is one)."""
        scan = self.get(user_id=user_id, scan_id=scan_id)
        data = self._storage.get(key=scan.overlay_key) if scan.overlay_key else None
        if data is None:
            raise NotFoundError("This scan has no overlay (yet).", code="overlay_not_available")
        return data
