"""The scans domain's errors (mapped to the error envelope by the one handler)."""

from app.core.errors import AccountGoneError, ConflictError, NotFoundError

__all__ = ["AccountGoneError", "ScanExpiredError", "ScanNotFoundError"]


class ScanNotFoundError(NotFoundError):
    code = "scan_not_found"
    message = "No such scan."


class ScanExpiredError(ConflictError):
    code = "scan_expired"
    message = "This scan's photos were not submitted in time; start a new scan."
