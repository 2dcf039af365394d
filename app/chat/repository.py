"""Chat table: messages and one summary item per session, in the user's partition.

The `session-index` LSI sorts on `session_key`:
- messages: `M#<session_id>#<message_id>` → a session's messages in order, one query;
- summaries: `S#<last_message_id>#<session_id>` → sessions by latest activity, one query.
(The keys and prefixes are built in `app.db.keys`.) A turn is written only while its user
exists and is not being deleted, so a turn answered during an account deletion leaves nothing.
"""

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.db.dynamodb import from_item, to_attr, to_item
from app.db.guards import UserGoneError, refused_by_user_check, transact, user_alive_check
from app.db.keys import (
    CHAT_SESSION_KEY_PREFIX,
    chat_message_key,
    chat_message_session_key,
    chat_messages_prefix,
    chat_summary_id,
    chat_summary_key,
    chat_summary_session_key,
)
from app.db.repository import Repository


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
            "session_key": chat_message_session_key(self.session_id, self.message_id),
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
        """Both messages and the session summary in one transaction: history is never half-written.

        SessionConflict if the session is gone (or, when new, already exists); UserGoneError if
        the user is gone or being deleted.
        """
        last = messages[-1]
        session_key = chat_summary_session_key(last.message_id, session.session_id)
        actions: list[dict[str, Any]] = [
            {"Put": {"TableName": self.table_name, "Item": to_item(m.stored())}} for m in messages
        ]
        if is_new:
            summary = {
                **session.model_dump(),
                "message_id": chat_summary_id(session.session_id),
                "session_key": session_key,
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
                self._summary_update(user_id, session.session_id, messages, session.last_message_preview)
            )
        self._write_turn(user_id, actions)

    def add_to_session(
        self, *, user_id: str, session_id: str, preview: str, messages: list[ChatMessageRecord]
    ) -> None:
        """A turn in an existing session: the messages and the summary's update in one transaction.

        The summary is not read first: the transaction's condition on it is the existence check
        (SessionConflict when it is gone); UserGoneError as for `add_turn`.
        """
        actions: list[dict[str, Any]] = [
            {"Put": {"TableName": self.table_name, "Item": to_item(m.stored())}} for m in messages
        ]
        actions.append(self._summary_update(user_id, session_id, messages, preview))
        self._write_turn(user_id, actions)

    def _summary_update(
        self, user_id: str, session_id: str, messages: list[ChatMessageRecord], preview: str
    ) -> dict[str, Any]:
        last = messages[-1]
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": chat_summary_key(user_id, session_id),
                "UpdateExpression": "SET session_key = :key, last_activity_at = :at, "
                "last_message_preview = :preview ADD message_count :n",
                "ConditionExpression": "attribute_exists(message_id)",
                "ExpressionAttributeValues": {
                    ":key": to_attr(chat_summary_session_key(last.message_id, session_id)),
                    ":at": to_attr(last.created_at),
                    ":preview": to_attr(preview),
                    ":n": to_attr(len(messages)),
                },
            }
        }

    def _write_turn(self, user_id: str, actions: list[dict[str, Any]]) -> None:
        actions.extend(user_alive_check(users_table=self.users_table, user_id=user_id))
        reasons = transact(self._call, actions=actions)
        if reasons is None:
            return
        if refused_by_user_check(actions=actions, reasons=reasons):
            raise UserGoneError()
        raise SessionConflict()

    def get_session(self, *, user_id: str, session_id: str) -> ChatSessionRecord | None:
        result = self._call(
            "get_item",
            Key=chat_summary_key(user_id, session_id),
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
            ExpressionAttributeValues={":uid": to_attr(user_id), ":s": to_attr(CHAT_SESSION_KEY_PREFIX)},
        )
        return [ChatSessionRecord.model_validate(i) for i in items], next_cursor

    def messages_page(
        self,
        *,
        user_id: str,
        session_id: str,
        limit: int,
        cursor: str | None,
        newest_first: bool = False,
        consistent: bool = False,
    ) -> tuple[list[ChatMessageRecord], str | None]:
        """A session's messages in order (chronological unless `newest_first`)."""
        extra: dict[str, Any] = {"ConsistentRead": True} if consistent else {}
        items, next_cursor = self._query_page(
            **extra,
            user_id=user_id,
            limit=limit,
            cursor=cursor,
            cursor_keys={"message_id", "session_key"},
            forward=not newest_first,
            IndexName="session-index",
            KeyConditionExpression="user_id = :uid AND begins_with(session_key, :m)",
            ExpressionAttributeValues={
                ":uid": to_attr(user_id),
                ":m": to_attr(chat_messages_prefix(session_id)),
            },
        )
        return [ChatMessageRecord.model_validate(i) for i in items], next_cursor

    def delete_session(self, *, user_id: str, session_id: str) -> None:
        """Messages first, summary last: a failure halfway leaves a visible session to delete again."""
        items = self._query_all(
            TableName=self.table_name,
            IndexName="session-index",
            KeyConditionExpression="user_id = :uid AND begins_with(session_key, :m)",
            ExpressionAttributeValues={
                ":uid": to_attr(user_id),
                ":m": to_attr(chat_messages_prefix(session_id)),
            },
            ProjectionExpression="user_id, message_id",
        )
        self._delete_keys([chat_message_key(user_id, i["message_id"]) for i in items])
        self._call("delete_item", Key=chat_summary_key(user_id, session_id))

    def all_items(self, *, user_id: str) -> list[dict[str, Any]]:
        """Every chat item of the user (export, deletion)."""
        return self._query_all(
            TableName=self.table_name,
            KeyConditionExpression="user_id = :uid",
            ExpressionAttributeValues={":uid": to_attr(user_id)},
        )

    def delete_all(self, *, user_id: str) -> int:
        items = self.all_items(user_id=user_id)
        self._delete_keys([chat_message_key(user_id, i["message_id"]) for i in items])
        return len(items)
