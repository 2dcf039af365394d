"""Users table: profiles, password hashes, auth sessions, and the email guard items.

Email uniqueness: a GSI cannot enforce it, so each account owns a guard item
(`user_id = "email#<email>"`) written in the same transaction as the user.
Auth sessions live in a map on the user item (one entry per refresh-token family), so a
rotation is one conditional update and "revoke all" is one write.

`credentials_version` counts password changes. A session is added only if the version is
still the one that was current when the password was verified: a sign-in that checked the
old password cannot add its session after the change has revoked everyone else's.
"""

from typing import Any

from pydantic import BaseModel, Field

from app.core.errors import ConflictError
from app.core.vocabulary import SkinType
from app.db.dynamodb import from_item, to_attr, to_item
from app.db.repository import ConditionFailed, Repository, TransactionCancelled, update_expression

EMAIL_GUARD_PREFIX = "email#"


class EmailTakenError(ConflictError):
    code = "email_taken"
    message = "An account with this email already exists."


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
        data = self.model_dump()
        data["item_type"] = "user"
        data["sessions"] = {k: v.model_dump(exclude_none=True) for k, v in self.sessions.items()}
        return data


def _version_condition(version: int) -> str:
    """The item's credentials are still at `version` (items from before versions count as 0)."""
    if version == 0:
        return "(attribute_not_exists(credentials_version) OR credentials_version = :cv)"
    return "credentials_version = :cv"


class UsersRepository(Repository):
    """The only code that reads or writes the users table."""

    def create(self, *, user: UserRecord) -> None:
        """Write the user and its email guard atomically; EmailTakenError if the email is used."""
        guard = {
            "user_id": EMAIL_GUARD_PREFIX + user.email,
            "owner_id": user.user_id,
            "item_type": "email_guard",
        }
        try:
            self._call(
                "transact_write_items",
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": to_item(guard),
                            "ConditionExpression": "attribute_not_exists(user_id)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": to_item(user.stored()),
                            "ConditionExpression": "attribute_not_exists(user_id)",
                        }
                    },
                ],
            )
        except TransactionCancelled as exc:
            if exc.reasons and exc.reasons[0] == "ConditionalCheckFailed":
                raise EmailTakenError() from exc
            if "TransactionConflict" in exc.reasons:
                # A concurrent registration with this email is mid-flight: it wins.
                raise EmailTakenError() from exc
            raise

    def get(self, *, user_id: str) -> UserRecord | None:
        """One user by id (email guards are never returned)."""
        if user_id.startswith(EMAIL_GUARD_PREFIX):
            return None
        result = self._call("get_item", Key={"user_id": to_attr(user_id)}, ConsistentRead=True)
        item = result.get("Item")
        return UserRecord.model_validate(from_item(item)) if item else None

    def get_by_email(self, *, email: str) -> UserRecord | None:
        """Resolve an email through its guard item (strongly consistent, unlike the GSI)."""
        result = self._call(
            "get_item", Key={"user_id": to_attr(EMAIL_GUARD_PREFIX + email)}, ConsistentRead=True
        )
        guard = result.get("Item")
        if not guard:
            return None
        return self.get(user_id=from_item(guard)["owner_id"])

    def update_profile(self, *, user_id: str, changes: dict[str, Any], updated_at: str) -> UserRecord:
        """Set the given profile attributes (None removes one); returns the new record."""
        expression, names, values = update_expression(
            {**dict(sorted(changes.items())), "updated_at": updated_at}
        )
        return self._update_returning(user_id, expression, names, values)

    def add_session(
        self,
        *,
        user_id: str,
        session_id: str,
        session: AuthSession,
        drop: list[str],
        credentials_version: int,
    ) -> bool:
        """Record a new refresh family (dropping old ones) if the credentials are still at
        `credentials_version`; False if they changed or the account is gone."""
        names = {"#sessions": "sessions", "#new": session_id}
        expression = "SET #sessions.#new = :session"
        if drop:
            removals = []
            for index, old in enumerate(drop):
                names[f"#old{index}"] = old
                removals.append(f"#sessions.#old{index}")
            expression += " REMOVE " + ", ".join(removals)
        try:
            self._call(
                "update_item",
                Key={"user_id": to_attr(user_id)},
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(user_id) AND attribute_not_exists(deletion_requested_at) AND "
                + _version_condition(credentials_version),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={
                    ":session": to_attr(session.model_dump(exclude_none=True)),
                    ":cv": to_attr(credentials_version),
                },
            )
        except ConditionFailed:
            return False
        return True

    def rotate_session(
        self, *, user_id: str, session_id: str, old_jti: str, new_jti: str, expires_at: str, issued_at: int
    ) -> bool:
        """Swap the family's current jti if it is still `old_jti` (remembering it); False if not."""
        try:
            self._call(
                "update_item",
                Key={"user_id": to_attr(user_id)},
                UpdateExpression=(
                    "SET #sessions.#sid.current_jti = :new, #sessions.#sid.expires_at = :exp, "
                    "#sessions.#sid.previous_jti = :old, #sessions.#sid.issued_at = :iat"
                ),
                ConditionExpression="#sessions.#sid.current_jti = :old AND attribute_not_exists(deletion_requested_at)",
                ExpressionAttributeNames={"#sessions": "sessions", "#sid": session_id},
                ExpressionAttributeValues={
                    ":new": to_attr(new_jti),
                    ":old": to_attr(old_jti),
                    ":exp": to_attr(expires_at),
                    ":iat": to_attr(issued_at),
                },
            )
            return True
        except ConditionFailed:
            return False

    def remove_sessions(self, *, user_id: str, session_ids: list[str]) -> None:
        """Revoke the given refresh families (no error if already gone)."""
        if not session_ids:
            return
        names = {"#sessions": "sessions"}
        removals = []
        for index, session_id in enumerate(session_ids):
            names[f"#s{index}"] = session_id
            removals.append(f"#sessions.#s{index}")
        try:
            self._call(
                "update_item",
                Key={"user_id": to_attr(user_id)},
                UpdateExpression="REMOVE " + ", ".join(removals),
                ConditionExpression="attribute_exists(user_id)",
                ExpressionAttributeNames=names,
            )
        except ConditionFailed:
            return

    def set_password(
        self,
        *,
        user_id: str,
        password_hash: str,
        changed_at: str,
        keep_session_id: str | None,
        expected_version: int | None = None,
    ) -> bool:
        """New hash and a new credentials version; every session but `keep_session_id` is revoked
        in the same write. With `expected_version`, only if the credentials are still at it.
        False if the account is gone (or its credentials changed meanwhile)."""
        for _ in range(5):
            user = self.get(user_id=user_id)
            if user is None or user.deletion_requested_at:
                return False
            if expected_version is not None and user.credentials_version != expected_version:
                return False
            kept = {
                k: v.model_dump(exclude_none=True) for k, v in user.sessions.items() if k == keep_session_id
            }
            names = {"#sessions": "sessions"}
            values = {
                ":hash": to_attr(password_hash),
                ":at": to_attr(changed_at),
                ":kept": {"M": to_item(kept)} if kept else {"M": {}},
                ":cv": to_attr(user.credentials_version),
                ":one": to_attr(1),
            }
            # Conditional on what was read: a session added or rotated meanwhile is not lost
            # by writing back a stale copy; the loop reads again.
            condition = "attribute_exists(user_id) AND " + _version_condition(user.credentials_version)
            if kept:
                names["#keep"] = keep_session_id or ""
                values[":keep_jti"] = to_attr(kept[keep_session_id or ""]["current_jti"])
                condition += " AND #sessions.#keep.current_jti = :keep_jti"
            try:
                self._call(
                    "update_item",
                    Key={"user_id": to_attr(user_id)},
                    UpdateExpression="SET password_hash = :hash, password_changed_at = :at, updated_at = :at, "
                    "#sessions = :kept ADD credentials_version :one",
                    ConditionExpression=condition,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                )
            except ConditionFailed:
                continue
            return True
        raise ConflictError("The account changed while the password was being set; try again.")

    def set_email_verified(self, *, user_id: str, verified_at: str) -> bool:
        """Mark the email verified; False if the account is gone or being deleted."""
        try:
            self._call(
                "update_item",
                Key={"user_id": to_attr(user_id)},
                UpdateExpression="SET email_verified = :true, updated_at = :at",
                ConditionExpression="attribute_exists(user_id) AND attribute_not_exists(deletion_requested_at)",
                ExpressionAttributeValues={":true": to_attr(True), ":at": to_attr(verified_at)},
            )
        except ConditionFailed:
            return False
        return True

    def mark_deletion_requested(self, *, user_id: str, requested_at: str) -> None:
        """Tokens stop working from this write on; the data is removed afterwards."""
        try:
            self._call(
                "update_item",
                Key={"user_id": to_attr(user_id)},
                UpdateExpression="SET deletion_requested_at = if_not_exists(deletion_requested_at, :at)",
                ConditionExpression="attribute_exists(user_id)",
                ExpressionAttributeValues={":at": to_attr(requested_at)},
            )
        except ConditionFailed:
            return

    def delete(self, *, user_id: str, email: str) -> None:
        """Remove the user and its email guard together (idempotent)."""
        self._call(
            "transact_write_items",
            TransactItems=[
                {"Delete": {"TableName": self.table_name, "Key": {"user_id": to_attr(user_id)}}},
                {
                    "Delete": {
                        "TableName": self.table_name,
                        "Key": {"user_id": to_attr(EMAIL_GUARD_PREFIX + email)},
                        "ConditionExpression": "attribute_not_exists(user_id) OR owner_id = :owner",
                        "ExpressionAttributeValues": {":owner": to_attr(user_id)},
                    }
                },
            ],
        )

    def _update_returning(
        self, user_id: str, expression: str, names: dict[str, str], values: dict[str, Any]
    ) -> UserRecord:
        result = self._call(
            "update_item",
            Key={"user_id": to_attr(user_id)},
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(user_id)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
        return UserRecord.model_validate(from_item(result["Attributes"]))
