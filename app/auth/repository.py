"""Users table: profiles, password hashes, auth sessions, and the email guard items.

Email uniqueness: a GSI cannot enforce it, so each account owns a guard item
(`user_id = "email#<email>"`) written in the same transaction as the user.
Auth sessions live in a map on the user item (see `app.auth.session_store`); the stored
shapes are in `app.auth.models`, the keys in `app.db.keys`.

`credentials_version` counts password changes. A session is added only if the version is
still the one that was current when the password was verified: a sign-in that checked the
old password cannot add its session after the change has revoked everyone else's.
"""

from typing import Any

from app.auth.models import AuthSession, UserRecord
from app.auth.session_store import SessionWrites, version_condition
from app.core.errors import AccountGoneError, ConflictError
from app.db.dynamodb import from_item, to_attr, to_item
from app.db.guards import TRACKING_ATTR
from app.db.keys import (
    EMAIL_GUARD_PREFIX,
    EMAIL_INDEX,
    email_guard_id,
    email_guard_key,
    is_email_guard,
    user_key,
)
from app.db.repository import ConditionFailed, TransactionCancelled, update_expression

__all__ = [
    "EMAIL_GUARD_PREFIX",
    "AccountGoneError",
    "AuthSession",
    "EmailTakenError",
    "UserRecord",
    "UsersRepository",
]


class EmailTakenError(ConflictError):
    code = "email_taken"
    message = "An account with this email already exists."


class UsersRepository(SessionWrites):
    """The only code that reads or writes the users table (session writes: `SessionWrites`)."""

    def create(self, *, user: UserRecord) -> None:
        """Write the user and its email guard atomically; EmailTakenError if the email is used."""
        guard = {
            "user_id": email_guard_id(user.email),
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
        if is_email_guard(user_id):
            return None
        return _user_in(self._consistent_get(user_key(user_id)))

    async def get_async(self, *, user_id: str) -> UserRecord | None:
        """`get` on the event loop: what authenticates every request, without a thread hop."""
        if is_email_guard(user_id):
            return None
        return _user_in(await self._consistent_get_async(user_key(user_id)))

    def get_by_email(self, *, email: str) -> UserRecord | None:
        """Resolve an email through its guard item (strongly consistent, unlike the GSI)."""
        result = self._call("get_item", Key=email_guard_key(email), ConsistentRead=True)
        guard = result.get("Item")
        if not guard:
            return None
        return self.get(user_id=from_item(guard)["owner_id"])

    def find_by_email(self, *, email: str) -> UserRecord | None:
        """The account of an email through the email index: one read, but eventually consistent.

        None unless exactly one account carries the email, so a caller falls back to
        `get_by_email` for an address just registered (or re-registered after a deletion).
        Whatever is decided from this copy must be re-checked by a conditional write."""
        result = self._call(
            "query",
            IndexName=EMAIL_INDEX,
            KeyConditionExpression="email = :email",
            ExpressionAttributeValues={":email": to_attr(email)},
            Limit=2,
        )
        items = result.get("Items") or []
        if len(items) != 1:
            return None
        user = UserRecord.model_validate(from_item(items[0]))
        return user if user.email == email else None

    def update_profile(self, *, user_id: str, changes: dict[str, Any], updated_at: str) -> UserRecord:
        """Set the given profile attributes (None removes one); returns the new record.

        AccountGoneError if the account is gone or being deleted (a PATCH racing a DELETE)."""
        expression, names, values = update_expression(
            {**dict(sorted(changes.items())), "updated_at": updated_at}
        )
        try:
            result = self._call(
                "update_item",
                Key=user_key(user_id),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(user_id) AND attribute_not_exists(deletion_requested_at)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ConditionFailed as exc:
            raise AccountGoneError() from exc
        return UserRecord.model_validate(from_item(result["Attributes"]))

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
            condition = "attribute_exists(user_id) AND " + version_condition(user.credentials_version)
            if kept:
                names["#keep"] = keep_session_id or ""
                values[":keep_jti"] = to_attr(kept[keep_session_id or ""]["current_jti"])
                condition += " AND #sessions.#keep.current_jti = :keep_jti"
            try:
                self._call(
                    "update_item",
                    Key=user_key(user_id),
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
                Key=user_key(user_id),
                UpdateExpression="SET email_verified = :true, updated_at = :at",
                ConditionExpression="attribute_exists(user_id) AND attribute_not_exists(deletion_requested_at)",
                ExpressionAttributeValues={":true": to_attr(True), ":at": to_attr(verified_at)},
            )
        except ConditionFailed:
            return False
        return True

    def add_tracking(self, *, user_id: str, features: list[str]) -> None:
        """Add names to the user's `tracking` set (a no-op for an account that is gone)."""
        try:
            self._call(
                "update_item",
                Key=user_key(user_id),
                UpdateExpression="ADD #tracking :features",
                ConditionExpression="attribute_exists(user_id)",
                ExpressionAttributeNames={"#tracking": TRACKING_ATTR},
                ExpressionAttributeValues={":features": {"SS": sorted(set(features))}},
            )
        except ConditionFailed:
            return

    def fill_pointer(self, *, user_id: str, pointer: str, value: str, seen: str | None) -> None:
        """Set a pointer attribute if it still holds `seen` (None: absent); else leave it (a writer won)."""
        condition = "attribute_exists(user_id) AND " + (
            "attribute_not_exists(#pointer)" if seen is None else "#pointer = :seen"
        )
        values = {":value": to_attr(value), **({":seen": to_attr(seen)} if seen is not None else {})}
        try:
            self._call(
                "update_item",
                Key=user_key(user_id),
                UpdateExpression="SET #pointer = :value",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#pointer": pointer},
                ExpressionAttributeValues=values,
            )
        except ConditionFailed:
            return

    def mark_deletion_requested(self, *, user_id: str, requested_at: str) -> None:
        """Tokens stop working from this write on; the data is removed afterwards."""
        try:
            self._call(
                "update_item",
                Key=user_key(user_id),
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
                {"Delete": {"TableName": self.table_name, "Key": user_key(user_id)}},
                {
                    "Delete": {
                        "TableName": self.table_name,
                        "Key": email_guard_key(email),
                        "ConditionExpression": "attribute_not_exists(user_id) OR owner_id = :owner",
                        "ExpressionAttributeValues": {":owner": to_attr(user_id)},
                    }
                },
            ],
        )


def _user_in(response: dict[str, Any]) -> UserRecord | None:
    """The user of a GetItem answer, or None when there is no item."""
    item = response.get("Item")
    return UserRecord.model_validate(from_item(item)) if item else None
