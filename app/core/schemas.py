"""Shapes shared by every router: pagination and the error envelope (for the docs)."""

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

ItemT = TypeVar("ItemT")
ULID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"


class Page(BaseModel, Generic[ItemT]):
    """The one pagination style: items plus an opaque cursor for the next page (null at the end)."""

    items: list[ItemT]
    next_cursor: str | None = Field(None, description="Pass as `cursor` to get the next page.")


class ErrorDetail(BaseModel):
    code: str = Field(examples=["plan_locked"])
    message: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in {
        400: "Bad request",
        401: "Not authenticated",
        403: "Forbidden (e.g. an invalid or expired signed URL)",
        404: "Not found (also another user's object)",
        409: "Conflict with the current state",
        413: "Body or file too large",
        415: "Unsupported content type",
        422: "Validation error",
        429: "Rate limited",
        503: "A dependency is unavailable",
    }.items()
}
