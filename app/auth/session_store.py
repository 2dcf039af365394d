"""The users table's session writes: refresh families kept in a map on the user item.

Auth sessions live in a map on the user item (one entry per refresh-token family), so a
rotation is one conditional update and "revoke all" is one write. `UsersRepository` inherits
these; they are apart only to keep each class small.
"""

from typing import Any

from app.auth.models import AuthSession
from app.db.dynamodb import to_attr
from app.db.keys import user_key
from app.db.repository import ConditionFailed, Repository, TransactionCancelled


def version_condition(version: int) -> str:
    """The item's credentials are still at `version` (items from before versions count as 0)."""
    if version == 0:
        return "(attribute_not_exists(credentials_version) OR credentials_version = :cv)"
    return "credentials_version = :cv"


class SessionWrites(Repository):
    """Adding, rotating and revoking refresh families on a user item."""

    def add_session(
        self,
        *,
        user_id: str,
        session_id: str,
        session: AuthSession,
        drop: list[str],
        credentials_version: int,
        session_count: int | None = None,
    ) -> bool:
        """Record a new refresh family (see `add_session_with`); False if the conditions failed."""
        added, _ = self.add_session_with(
            user_id=user_id,
            session_id=session_id,
            session=session,
            drop=drop,
            credentials_version=credentials_version,
            session_count=session_count,
            also=None,
        )
        return added

    def add_session_with(
        self,
        *,
        user_id: str,
        session_id: str,
        session: AuthSession,
        drop: list[str],
        credentials_version: int,
        session_count: int | None,
        also: list[dict[str, Any]] | None,
    ) -> tuple[bool, bool]:
        """Record a new refresh family (dropping old ones) if the credentials are still at
        `credentials_version` and, with `session_count`, the item still holds that many
        sessions (so `drop` was computed from what is there: the cap holds under races).

        `also`: other actions to write in the same transaction (a sign-in's counter
        bookkeeping). Returns (added, also_written); not added if the conditions failed."""
        names = {"#sessions": "sessions", "#new": session_id}
        expression = "SET #sessions.#new = :session"
        if drop:
            removals = []
            for index, old in enumerate(drop):
                names[f"#old{index}"] = old
                removals.append(f"#sessions.#old{index}")
            expression += " REMOVE " + ", ".join(removals)
        condition = (
            "attribute_exists(user_id) AND attribute_not_exists(deletion_requested_at) AND "
            + version_condition(credentials_version)
        )
        values = {
            ":session": to_attr(session.model_dump(exclude_none=True)),
            ":cv": to_attr(credentials_version),
        }
        if session_count is not None:
            values[":count"] = to_attr(session_count)
            condition += " AND (size(#sessions) = :count" + (
                " OR attribute_not_exists(#sessions))" if session_count == 0 else ")"
            )
        update = {
            "Key": user_key(user_id),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if also:
            try:
                self._call(
                    "transact_write_items",
                    TransactItems=[{"Update": {"TableName": self.table_name, **update}}, *also],
                )
                return True, True
            except TransactionCancelled as exc:
                if exc.reasons[:1] == ["ConditionalCheckFailed"]:
                    return False, False
                # Only the other actions were refused, or the items were busy: the session alone.
        try:
            self._call("update_item", **update)
        except ConditionFailed:
            return False, False
        return True, False

    def rotate_session(
        self, *, user_id: str, session_id: str, old_jti: str, new_jti: str, expires_at: str, issued_at: int
    ) -> bool:
        """Swap the family's current jti if it is still `old_jti` (remembering it); False if not."""
        try:
            self._call(
                "update_item",
                Key=user_key(user_id),
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
                Key=user_key(user_id),
                UpdateExpression="REMOVE " + ", ".join(removals),
                ConditionExpression="attribute_exists(user_id)",
                ExpressionAttributeNames=names,
            )
        except ConditionFailed:
            return
