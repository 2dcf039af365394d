"""Each operation's own error responses for the OpenAPI document: `error_responses(404, 409)`.

Every route lists the statuses it can really answer (all in the one error envelope), so a
generated client knows what to handle; there is no global list of ten on every operation.
"""

from typing import Any

from app.core.schemas import ErrorEnvelope

ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Bad request (e.g. a malformed cursor or token)",
    401: "Not signed in, or the token is invalid or expired",
    403: "Forbidden (e.g. an invalid or expired signed URL)",
    404: "Not found (also another user's object)",
    409: "Conflict with the current state",
    410: "Gone (e.g. an expired or cancelled link)",
    413: "Body or file too large",
    415: "Unsupported content type",
    422: "Validation error (`details` lists the fields)",
    429: "Rate limited (`details.retry_after` seconds)",
    503: "A dependency is unavailable; retry after `Retry-After` seconds",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status with the error envelope and what it means here."""
    unknown = [status for status in statuses if status not in ERROR_DESCRIPTIONS]
    if unknown or not statuses:
        raise ValueError(f"error_responses needs statuses from {sorted(ERROR_DESCRIPTIONS)}, got {statuses}")
    return {
        status: {"model": ErrorEnvelope, "description": ERROR_DESCRIPTIONS[status]}
        for status in sorted(statuses)
    }
