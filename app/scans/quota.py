"""Daily per-user quotas of the scans domain: analyses, and photo checks (decodes)."""

from app.core.rate_limit import RateLimiter

DAY_SECONDS = 86400


class ScanQuota:
    """Analysis is the expensive part of the product; decoding photos costs memory and CPU."""

    def __init__(self, *, limiter: RateLimiter | None, scans_per_day: int, photo_checks_per_day: int) -> None:
        self._limiter = limiter
        self._scans_per_day = scans_per_day
        self._photo_checks_per_day = photo_checks_per_day

    def charge_scan(self, *, user_id: str) -> None:
        """Count one started or retried scan (429 past the daily limit)."""
        if self._limiter and self._scans_per_day:
            self._limiter.hit(
                owner=user_id,
                name="scans",
                limit=self._scans_per_day,
                window_seconds=DAY_SECONDS,
                message=f"You can start or retry {self._scans_per_day} scans a day; try again tomorrow.",
            )

    def refund_scan(self, *, user_id: str) -> None:
        """Give back a charge for a scan that was not started after all."""
        if self._limiter and self._scans_per_day:
            self._limiter.refund(owner=user_id, name="scans", window_seconds=DAY_SECONDS)

    def charge_photo_check(self, *, user_id: str) -> None:
        """A submit that decodes is counted, so a photo that fails the check cannot be
        re-submitted without end."""
        if self._limiter and self._photo_checks_per_day:
            self._limiter.hit(
                owner=user_id,
                name="photo_checks",
                limit=self._photo_checks_per_day,
                window_seconds=DAY_SECONDS,
                message=f"Photos can be checked {self._photo_checks_per_day} times a day; try again tomorrow.",
            )
