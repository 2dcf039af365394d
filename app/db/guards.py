"""Transaction helpers shared by the repositories that write into a user's data.

A write that adds to a user's data carries a `ConditionCheck` on the user item: the user
exists and no deletion was requested. An account deletion writes that mark first, so
every such write after it is refused and the deletion leaves nothing behind.
"""

import contextlib
import time
from collections.abc import Callable
from typing import Any

from app.core.errors import DependencyUnavailableError
from app.db.dynamodb import to_attr
from app.db.keys import user_key
from app.db.repository import ConditionFailed, TransactionCancelled

USER_ALIVE = "attribute_exists(user_id) AND attribute_not_exists(deletion_requested_at)"

# The user item's `tracking` string set names the optional features a user ever wrote data
# for, so readers (the chat context) skip a query for what a user never used. The first
# write of a feature adds its name in the same transaction that checks the user (an Update
# with the alive condition instead of a ConditionCheck: one action does both).
# `TRACKING_CHECKED` says the set is complete: registration writes it; for an account made
# before the marker existed it is added once a reader has looked (see app/chat/context.py).
TRACKING_ATTR = "tracking"
TRACK_CYCLES = "cycles"
TRACK_SKIN_LOGS = "skin_logs"
TRACKING_CHECKED = "checked"

# Pointers on the user item, so the chat context reads the latest completed scan and the
# current plan with one BatchGetItem: `latest_scan_id` (the newest completed scan that passed
# quality; only ever moved forward) and `current_plan_id` (the newest plan, set by the
# transaction that creates it). `NO_POINTER` = known to be none (new accounts); an absent
# attribute = unknown (accounts from before the pointers): the reader queries and fills it.
SCAN_POINTER = "latest_scan_id"
PLAN_POINTER = "current_plan_id"
# `data_version` on the user item: +1 with every write to the user's scans or plans (in the
# write's transaction, or just after it), so app/core/read_cache.py can tell a cached read
# model is still current from the user item that authentication reads anyway.
DATA_VERSION_ATTR = "data_version"
NO_POINTER = "-"  # sorts before every ULID, so "move forward" conditions accept it
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


def _user_update(
    *,
    users_table: str,
    user_id: str,
    expression: str,
    names: dict[str, str],
    values: dict[str, Any],
    condition: str = USER_ALIVE,
) -> list[dict[str, Any]]:
    """The user check as an Update action that also writes to the user item (one action, both)."""
    if not users_table:
        return []
    return [
        {
            "Update": {
                "TableName": users_table,
                "Key": user_key(user_id),
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }
    ]


def user_alive_tracking(*, users_table: str, user_id: str, feature: str) -> list[dict[str, Any]]:
    """The user check as an Update that also adds `feature` to the user's `tracking` set."""
    return _user_update(
        users_table=users_table,
        user_id=user_id,
        expression="ADD #tracking :feature",
        names={"#tracking": TRACKING_ATTR},
        values={":feature": {"SS": [feature]}},
    )


def user_alive_bump(*, users_table: str, user_id: str) -> list[dict[str, Any]]:
    """The user check as an Update that also moves the user's data version on."""
    return _user_update(
        users_table=users_table,
        user_id=user_id,
        expression="ADD #version :one",
        names={"#version": DATA_VERSION_ATTR},
        values={":one": to_attr(1)},
    )


def bump_data_version(call: Callable[..., Any], *, users_table: str, user_id: str) -> None:
    """Move the data version on after a write that had no transaction to carry it.

    Only an existing user item is touched (a deleted account gets no stray item back).
    """
    if not users_table:
        return
    with contextlib.suppress(ConditionFailed):
        call(
            "update_item",
            TableName=users_table,
            Key=user_key(user_id),
            UpdateExpression="ADD #version :one",
            ConditionExpression="attribute_exists(user_id)",
            ExpressionAttributeNames={"#version": DATA_VERSION_ATTR},
            ExpressionAttributeValues={":one": to_attr(1)},
        )


def user_alive_pointer(
    *, users_table: str, user_id: str, pointer: str, value: str, forward_only: bool = False
) -> list[dict[str, Any]]:
    """The user check as an Update that sets a pointer (`forward_only`: only to a later id) and
    moves the data version on (pointers are set by scan and plan writes)."""
    return _user_update(
        users_table=users_table,
        user_id=user_id,
        expression="SET #pointer = :value ADD #version :one",
        names={"#pointer": pointer, "#version": DATA_VERSION_ATTR},
        values={":value": to_attr(value), ":one": to_attr(1)},
        condition=USER_ALIVE + (" AND #pointer < :value" if forward_only else ""),
    )


def refused_by_user_check(*, actions: list[dict[str, Any]], reasons: list[str]) -> bool:
    """Whether the user check (placed last in `actions`) is what refused the transaction."""
    last = actions[-1].get("ConditionCheck") or actions[-1].get("Update") or {}
    return last.get("ConditionExpression") == USER_ALIVE and reasons[-1:] == ["ConditionalCheckFailed"]


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
