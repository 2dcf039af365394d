"""Every DynamoDB key and key prefix of every table, in one place.

Key functions return attribute-value dicts ready for `Key=`; `*_PREFIX` constants and the
`*_sk` / `*_session_key` functions build the sort-key strings the queries rely on.
"""

from typing import Any

from app.db.dynamodb import to_attr

# --- plans ---

PLAN_SLOT_SK = "plan#slot"
"""Records table: the per-user item naming the current plan and its lock."""


def plan_key(user_id: str, plan_id: str) -> dict[str, Any]:
    """Plans table: one plan."""
    return {"user_id": to_attr(user_id), "plan_id": to_attr(plan_id)}


def plan_slot_key(user_id: str) -> dict[str, Any]:
    """Records table: the user's plan slot."""
    return {"user_id": to_attr(user_id), "sk": to_attr(PLAN_SLOT_SK)}


def checkin_path_names(checkin_date: str) -> dict[str, str]:
    """Placeholder names for a check-in's place in the plan's `checkins` map (keyed by ISO date)."""
    return {"#date": checkin_date}


CHECKIN_PATH = "checkins.#date"
"""A check-in's attribute path inside a plan item (with `checkin_path_names`)."""

# --- chat ---

CHAT_SUMMARY_PREFIX = "session#"
"""Chat table: `message_id` of a session's summary item is this prefix + the session id."""
CHAT_SESSION_KEY_PREFIX = "S#"
"""`session_key` of summaries: `S#<last_message_id>#<session_id>` sorts sessions by activity."""
CHAT_MESSAGE_KEY_PREFIX = "M#"
"""`session_key` of messages: `M#<session_id>#<message_id>` sorts a session's messages."""


def chat_message_key(user_id: str, message_id: str) -> dict[str, Any]:
    """Chat table: one item (a message or, with a summary id, a session summary)."""
    return {"user_id": to_attr(user_id), "message_id": to_attr(message_id)}


def chat_summary_id(session_id: str) -> str:
    """The `message_id` of a session's summary item."""
    return CHAT_SUMMARY_PREFIX + session_id


def chat_summary_key(user_id: str, session_id: str) -> dict[str, Any]:
    """Chat table: a session's summary item."""
    return chat_message_key(user_id, chat_summary_id(session_id))


def chat_summary_session_key(last_message_id: str, session_id: str) -> str:
    """Session-index sort key of a summary: latest activity first when queried backwards."""
    return f"{CHAT_SESSION_KEY_PREFIX}{last_message_id}#{session_id}"


def chat_messages_prefix(session_id: str) -> str:
    """Session-index sort-key prefix of one session's messages."""
    return f"{CHAT_MESSAGE_KEY_PREFIX}{session_id}#"


def chat_message_session_key(session_id: str, message_id: str) -> str:
    """Session-index sort key of a message: a session's messages in order."""
    return chat_messages_prefix(session_id) + message_id
