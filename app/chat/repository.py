"""Chat table: messages and one summary item per session, in the user's partition.

The `session-index` LSI sorts on `session_key`:
- messages: `M#<session_id>#<message_id>` → a session's messages in order, one query;
- summaries: `S#<last_message_id>#<session_id>` → sessions by latest activity, one query.
"""

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.db.dynamodb import from_item, to_attr, to_item
from app.db.repository import Repository, TransactionCancelled

SUMMARY_PREFIX = "session#"


class ChatMessageRecord(BaseModel):
    user_id: str
    message_id: str
    session_id: str
    role: Literal["user", "assistant"]
    content: str
    created_at: str
    provider: str | None = None
    intent: str | None = None
    safety_flags: list[str] = Field(default_factory=list)
    context_refs: dict[str, str] = Field(default_factory=dict)
    interrupted: bool = False

    def stored(self) -> dict[str, Any]:
        return {
            **self.model_dump(),
            "session_key": f"M#{self.session_id}#{self.message_id}",
            "item_type": "message",
        }


class ChatSessionRecord(BaseModel):
    user_id: str
    session_id: str
    title: str
    created_at: str
    last_activity_at: str
    last_message_preview: str
    message_count: int


class SessionConflict(Exception):  # noqa: N818
    """The session does not exist (or was deleted meanwhile)."""


class ChatRepository(Repository):
    def add_turn(
        self, *, user_id: str, session: ChatSessionRecord, messages: list[ChatMessageRecord], is_new: bool
    ) -> None:
        """Both messages and the session summary in one transaction: history is never half-written."""
        last = messages[-1]
        summary_key = {
            "user_id": to_attr(user_id),
            "message_id": to_attr(SUMMARY_PREFIX + session.session_id),
        }
        actions: list[dict[str, Any]] = [
            {"Put": {"TableName": self.table_name, "Item": to_item(m.stored())}} for m in messages
        ]
        if is_new:
            summary = {
                **session.model_dump(),
                "message_id": SUMMARY_PREFIX + session.session_id,
                "session_key": f"S#{last.message_id}#{session.session_id}",
                "item_type": "session",
                "message_count": len(messages),
            }
            actions.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": to_item(summary),
                        "ConditionExpression": "attribute_not_exists(message_id)",
                    }
                }
            )
        else:
            actions.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": summary_key,
                        "UpdateExpression": "SET session_key = :key, last_activity_at = :at, "
                        "last_message_preview = :preview ADD message_count :n",
                        "ConditionExpression": "attribute_exists(message_id)",
                        "ExpressionAttributeValues": {
                            ":key": to_attr(f"S#{last.message_id}#{session.session_id}"),
                            ":at": to_attr(last.created_at),
                            ":preview": to_attr(session.last_message_preview),
                            ":n": to_attr(len(messages)),
                        },
                    }
                }
            )
        try:
            self._call("transact_write_items", TransactItems=actions)
        except TransactionCancelled as exc:
            if "ConditionalCheckFailed" in exc.reasons:
                raise SessionConflict() from exc
            raise

    def get_session(self, *, user_id: str, session_id: str) -> ChatSessionRecord | None:
        result = self._call(
            "get_item",
            Key={"user_id": to_attr(user_id), "message_id": to_attr(SUMMARY_PREFIX + session_id)},
            ConsistentRead=True,
        )
        item = result.get("Item")
        return ChatSessionRecord.model_validate(from_item(item)) if item else None

    def sessions_page(
        self, *, user_id: str, limit: int, cursor: str | None
    ) -> tuple[list[ChatSessionRecord], str | None]:
        """Newest activity first, one query on the session index."""
        items, next_cursor = self._query_page(
            user_id=user_id,
            limit=limit,
            cursor=cursor,
            cursor_keys={"message_id", "session_key"},
            forward=False,
            IndexName="session-index",
            KeyConditionExpression="user_id = :uid AND begins_with(session_key, :s)",
            ExpressionAttributeValues={":uid": to_attr(user_id), ":s": to_attr("S#")},
        )
        return [ChatSessionRecord.model_validate(i) for i in items], next_cursor

    def messages_page(
        self, *, user_id: str, session_id: str, limit: int, cursor: str | None, newest_first: bool = False
    ) -> tuple[list[ChatMessageRecord], str | None]:
        """A session's messages in order (chronological unless `newest_first`)."""
        items, next_cursor = self._query_page(
            user_id=user_id,
            limit=limit,
            cursor=cursor,
            cursor_keys={"message_id", "session_key"},
            forward=not newest_first,
            IndexName="session-index",
            KeyConditionExpression="user_id = :uid AND begins_with(session_key, :m)",
            ExpressionAttributeValues={":uid": to_attr(user_id), ":m": to_attr(f"M#{session_id}#")},
        )
        return [ChatMessageRecord.model_validate(i) for i in items], next_cursor

    def delete_session(self, *, user_id: str, session_id: str) -> None:
        """Messages first, summary last: a failure halfway leaves a visible session to delete again."""
        items = self._query_all(
            TableName=self.table_name,
            IndexName="session-index",
            KeyConditionExpression="user_id = :uid AND begins_with(session_key, :m)",
            ExpressionAttributeValues={":uid": to_attr(user_id), ":m": to_attr(f"M#{session_id}#")},
            ProjectionExpression="user_id, message_id",
        )
        self._delete_keys(
            [{"user_id": to_attr(user_id), "message_id": to_attr(i["message_id"])} for i in items]
        )
        self._call(
            "delete_item",
            Key={"user_id": to_attr(user_id), "message_id": to_attr(SUMMARY_PREFIX + session_id)},
        )

    def all_items(self, *, user_id: str) -> list[dict[str, Any]]:
        """Every chat item of the user (export, deletion)."""
        return self._query_all(
            TableName=self.table_name,
            KeyConditionExpression="user_id = :uid",
            ExpressionAttributeValues={":uid": to_attr(user_id)},
        )

    def delete_all(self, *, user_id: str) -> int:
        items = self.all_items(user_id=user_id)
        self._delete_keys(
            [{"user_id": to_attr(user_id), "message_id": to_attr(i["message_id"])} for i in items]
        )
        return len(items)
