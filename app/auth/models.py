"""What the users table stores: a user and its auth sessions."""

from typing import Any

from pydantic import BaseModel, Field

from app.core.vocabulary import SkinType


class AuthSession(BaseModel):
    """One refresh-token family: the only refresh jti that may still be used.

    `previous_jti` and `issued_at` (epoch seconds of the current refresh token) let a client
    that retries a refresh within the grace window get the same new pair back.
    """

    current_jti: str
    created_at: str
    expires_at: str
    user_agent: str = ""
    previous_jti: str | None = None
    issued_at: int | None = None


class UserRecord(BaseModel):
    """A user item: profile, password hash, credentials version and sessions."""

    user_id: str
    email: str
    password_hash: str
    full_name: str | None = None
    skin_type: SkinType | None = None
    primary_concern: str | None = None
    concerns: list[str] = Field(default_factory=list)
    sensitivities: list[str] = Field(default_factory=list)
    pregnant_or_breastfeeding: bool = False
    birth_year: int | None = None
    timezone: str = "UTC"
    email_verified: bool = False
    created_at: str
    updated_at: str
    password_changed_at: str | None = None
    deletion_requested_at: str | None = None
    credentials_version: int = 0
    sessions: dict[str, AuthSession] = Field(default_factory=dict)

    def stored(self) -> dict[str, Any]:
        """The item as written to the table."""
        data = self.model_dump()
        data["item_type"] = "user"
        data["sessions"] = {k: v.model_dump(exclude_none=True) for k, v in self.sessions.items()}
        return data
