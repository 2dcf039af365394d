"""Links handed to clients."""

from fastapi import Request


def absolute(request: Request, url: str) -> str:
    """Local-storage links are app-relative; the client needs them absolute."""
    return str(request.base_url).rstrip("/") + url if url.startswith("/") else url
