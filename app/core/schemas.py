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


# Each route declares its own error statuses: app/api/responses.py `error_responses(...)`.
