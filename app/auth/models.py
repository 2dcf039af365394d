"""What the users table stores: a user and its auth sessions."""

from typing import Any

from pydantic import BaseModel, Field

from app.core.vocabulary import SkinType
from app.db.guards import TRACKING_CHECKED


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
    # Optional features the user ever wrote data for (see `app.db.guards.TRACKING_ATTR`);
    # empty for an account made before the marker existed: unknown, not "none".
    tracking: list[str] = Field(default_factory=list)
    # The newest completed scan and the newest plan (app.db.guards SCAN_POINTER, PLAN_POINTER):
    # "-" = none, None = unknown (an account from before the pointers).
    latest_scan_id: str | None = None
    current_plan_id: str | None = None
    # +1 with every write to the user's scans or plans (app.db.guards.DATA_VERSION_ATTR).
    data_version: int = 0

    def tracks(self, feature: str) -> bool | None:
        """True/False when the marker knows whether the user has `feature` data, None when unknown."""
        if feature in self.tracking:
            return True
        return False if TRACKING_CHECKED in self.tracking else None

    def stored(self) -> dict[str, Any]:
        """The item as written to the table."""
        data = self.model_dump()
        data["item_type"] = "user"
        data["sessions"] = {k: v.model_dump(exclude_none=True) for k, v in self.sessions.items()}
        # A string set (added to by ADD in other domains' transactions); DynamoDB has no empty set.
        data["tracking"] = set(self.tracking)
        if not self.tracking:
            del data["tracking"]
        for pointer in ("latest_scan_id", "current_plan_id"):
            if data[pointer] is None:  # absent, not NULL: the transactions compare it with `<`
                del data[pointer]
        return data
