"""Stored account records in the records table: single-use tokens and deletion markers."""

from pydantic import BaseModel


class OneTimeToken(BaseModel):
    """A verification or reset link's record, stored under the hash of the token."""

    owner_id: str
    purpose: str
    valid_until: int


class DeletionRequest(BaseModel):
    """A started account deletion (sort key: the user id); start-up finishes the ones left."""

    email: str = ""
    requested_at: str | None = None
