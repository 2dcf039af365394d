"""Transaction helpers shared by the repositories that write into a user's data.

A write that adds to a user's data carries a `ConditionCheck` on the user item: the user
exists and no deletion was requested. An account deletion writes that mark first, so
every such write after it is refused and the deletion leaves nothing behind.
"""

import time
from collections.abc import Callable
from typing import Any

from app.core.errors import DependencyUnavailableError
from app.db.keys import user_key
from app.db.repository import TransactionCancelled

USER_ALIVE = "attribute_exists(user_id) AND attribute_not_exists(deletion_requested_at)"
_CONFLICT_RETRIES = 4


class UserGoneError(Exception):
    """The user no longer exists or asked for deletion: nothing more is written for them."""


def user_alive_check(*, users_table: str, user_id: str) -> list[dict[str, Any]]:
    """The ConditionCheck action (none without a users table, e.g. in a bare repository)."""
    if not users_table:
        return []
    return [
        {
            "ConditionCheck": {
                "TableName": users_table,
                "Key": user_key(user_id),
                "ConditionExpression": USER_ALIVE,
            }
        }
    ]


def refused_by_user_check(*, actions: list[dict[str, Any]], reasons: list[str]) -> bool:
    """Whether the user check (placed last in `actions`) is what refused the transaction."""
    return "ConditionCheck" in actions[-1] and reasons[-1:] == ["ConditionalCheckFailed"]


def transact(call: Callable[..., Any], *, actions: list[dict[str, Any]]) -> list[str] | None:
    """Run a transaction; None when written, the cancellation reasons when a condition refused it.

    A `TransactionConflict` (another request on one of the items at that moment, e.g. a
    sign-in updating the user item) is retried briefly: it says nothing about the state.
    """
    for attempt in range(_CONFLICT_RETRIES):
        try:
            call("transact_write_items", TransactItems=actions)
            return None
        except TransactionCancelled as exc:
            if "ConditionalCheckFailed" in exc.reasons:
                return exc.reasons
            if "TransactionConflict" not in exc.reasons:
                raise
            if attempt == _CONFLICT_RETRIES - 1:
                raise DependencyUnavailableError("The database is busy; try again shortly.") from exc
            time.sleep(0.02 * (attempt + 1))
    return None  # pragma: no cover - the loop always returns
