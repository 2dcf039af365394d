"""Records table: the user's preferences document (one item, versioned)."""

from typing import Any

from app.db.dynamodb import from_item, to_attr, to_item
from app.db.guards import UserGoneError, refused_by_user_check, transact, user_alive_check
from app.db.keys import PREFERENCES_SK, preferences_key
from app.db.repository import Repository
from app.preferences.models import StoredPreferences


class PreferencesChanged(Exception):  # noqa: N818 - reads as an outcome
    """Another request saved the preferences first (the version moved on)."""


class PreferencesRepository(Repository):
    def get(self, *, user_id: str) -> StoredPreferences | None:
        """The stored document, or None if the user never saved one."""
        result = self._call("get_item", Key=preferences_key(user_id), ConsistentRead=True)
        item = result.get("Item")
        return StoredPreferences.model_validate(from_item(item)) if item else None

    def put(self, *, user_id: str, preferences: StoredPreferences, expected_version: int) -> None:
        """Write if nobody saved in between (version check), and only for a live account."""
        item = {"user_id": user_id, "sk": PREFERENCES_SK, **preferences.model_dump(mode="json")}
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": to_item(item),
                    "ConditionExpression": "attribute_not_exists(sk) OR version = :expected",
                    "ExpressionAttributeValues": {":expected": to_attr(expected_version)},
                }
            },
            *user_alive_check(users_table=self.users_table, user_id=user_id),
        ]
        reasons = transact(self._call, actions=actions)
        if reasons is None:
            return
        if refused_by_user_check(actions=actions, reasons=reasons):
            raise UserGoneError()
        raise PreferencesChanged()

    def delete(self, *, user_id: str) -> int:
        """Remove the document (account erasure); 1 if there was one."""
        result = self._call("delete_item", Key=preferences_key(user_id), ReturnValues="ALL_OLD")
        return 1 if result.get("Attributes") else 0
