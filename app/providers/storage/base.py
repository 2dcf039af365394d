"""The image storage contract shared by the S3 and local-filesystem backends."""

from collections.abc import Iterator
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from app.core.errors import ForbiddenError


class InvalidSignedUrlError(ForbiddenError):
    code = "invalid_signed_url"
    message = "This link is invalid or has expired; ask the API for a new one."


class UploadTarget(BaseModel):
    """How the client sends one file: POST a multipart form (S3) or PUT the raw bytes (local)."""

    method: Literal["POST", "PUT"]
    url: str
    fields: dict[str, str] | None = Field(None, description="Form fields to send before `file` (POST).")
    headers: dict[str, str] | None = Field(None, description="Headers to send with the body (PUT).")
    expires_at: datetime
    max_bytes: int


class ImageStorage(Protocol):
    """Private object storage for face photos; keys are always chosen by the server."""

    name: str

    def upload_target(self, *, key: str, content_types: tuple[str, ...], max_bytes: int) -> UploadTarget:
        """A short-lived target the client can upload one file to."""
        ...

    def put(self, *, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, *, key: str) -> bytes | None:
        """The object's bytes, or None when it does not exist."""
        ...

    def delete_prefix(self, *, prefix: str) -> int:
        """Delete every object under the prefix; returns how many. Safe to repeat."""
        ...

    def list_objects(self, *, prefix: str) -> Iterator[tuple[str, float]]:
        """(key, last-modified epoch seconds) of every object under the prefix (sweeps)."""
        ...

    def download_url(self, *, key: str) -> str:
        """A short-lived GET link (absolute for S3; app-relative for local)."""
        ...

    def check(self) -> None:
        """Raise if the storage cannot be reached (readiness)."""
        ...
