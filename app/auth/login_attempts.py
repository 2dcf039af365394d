"""Sign-in attempt counters (in the records table), counted atomically *before* a password check.

One item per account or client address (`sk = "login-attempts"`):
- `attempts`: attempts admitted so far (each is presumed a failure until it succeeds),
- `allowed`: how many may be admitted before the next lockout decision,
- `locked_until`: epoch seconds; nothing is admitted before it,
- `reserved_at`: when the last attempt was admitted (a crash between admitting and deciding
  must not jam the key forever, so an old reservation stops blocking).
Admission is one conditional `ADD`: concurrent guesses cannot all pass a check that has not
yet seen the others.

A sign-in's common case costs one write for all three counters (`admit_together`: the budget,
the account and the address in one transaction, all or nothing) and, on success, nothing of
its own: `success_actions` are written in the same transaction as the new session. When the
transaction is refused (a lockout, a spent budget, an expired counter, contention), nothing
was counted, and the guard takes the one-counter-at-a-time path, which says exactly why.

The per-account budget is a plain fixed-window counter (`sk = "login-budget#<hour>"`) that
admits at most `limit` failed attempts per window, whatever address they come from.
"""

from dataclasses import dataclass
from typing import Any

from app.db.dynamodb import from_item, to_attr
from app.db.keys import LOGIN_ATTEMPTS_SK, login_budget_sk, record_key
from app.db.repository import ConditionFailed, Repository, TransactionCancelled

ATTEMPTS_KEY = LOGIN_ATTEMPTS_SK


@dataclass(frozen=True)
class Admission:
    admitted: bool
    attempts: int
    locked_until: float


class LoginAttemptsRepository(Repository):
    """The only code that writes sign-in counters."""

    def admit(
        self, *, owner: str, now: float, threshold: int, stale_before: float, expires_at_epoch: int
    ) -> Admission:
        """Count one attempt if the key is not locked and has room; otherwise count nothing."""
        for _ in range(2):
            try:
                result = self._call(
                    "update_item",
                    **self._admit_update(owner, now, threshold, stale_before, expires_at_epoch),
                    ReturnValues="ALL_NEW",
                )
            except ConditionFailed:
                record = self._get(owner, ATTEMPTS_KEY) or {}
                if record and int(record.get("expires_at_epoch", 0)) < now:
                    # DynamoDB's TTL deletes late: an expired counter is gone, whatever it says.
                    self._delete_if(owner, ATTEMPTS_KEY, expires_at_epoch=int(record["expires_at_epoch"]))
                    continue
                return Admission(
                    admitted=False,
                    attempts=int(record.get("attempts", 0)),
                    locked_until=float(record.get("locked_until", 0)),
                )
            item = from_item(result["Attributes"])
            return Admission(admitted=True, attempts=int(item["attempts"]), locked_until=0.0)
        return Admission(admitted=False, attempts=0, locked_until=0.0)

    def admit_together(
        self,
        *,
        owners: dict[str, str],
        thresholds: dict[str, int],
        budget_owner: str,
        window: str,
        budget_limit: int,
        budget_expires_at_epoch: int,
        now: float,
        stale_before: float,
        expires_at_epoch: int,
    ) -> bool:
        """Spend the budget and admit on every counter in one transaction; False (nothing counted)
        if any of them refuses or the items are busy."""
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    **self._budget_update(budget_owner, window, budget_limit, budget_expires_at_epoch),
                }
            }
        ]
        for kind, owner in owners.items():
            actions.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        **self._admit_update(owner, now, thresholds[kind], stale_before, expires_at_epoch),
                    }
                }
            )
        try:
            self._call("transact_write_items", TransactItems=actions)
        except TransactionCancelled:
            return False
        return True

    def attempts(self, *, owner: str) -> int:
        """Attempts counted on a key so far (0 if none)."""
        return int((self._get(owner, ATTEMPTS_KEY) or {}).get("attempts", 0))

    def success_actions(
        self, *, account_owner: str, ip_owner: str, budget_owner: str, window: str
    ) -> list[dict[str, Any]]:
        """What `clear`, `release` and `refund_budget` write after a success, as transaction actions."""
        return [
            {"Delete": {"TableName": self.table_name, "Key": self._key(account_owner, ATTEMPTS_KEY)}},
            {
                "Update": {
                    "TableName": self.table_name,
                    **self._decrement_update(ip_owner, ATTEMPTS_KEY, "attempts"),
                }
            },
            {
                "Update": {
                    "TableName": self.table_name,
                    **self._decrement_update(budget_owner, login_budget_sk(window), "spent"),
                }
            },
        ]

    def lock(self, *, owner: str, attempts: int, locked_until: float) -> None:
        """Lock until `locked_until` (never shortening a lock), then admit one more attempt."""
        try:
            self._call(
                "update_item",
                Key=self._key(owner, ATTEMPTS_KEY),
                UpdateExpression="SET locked_until = :until, allowed = :next",
                ConditionExpression=(
                    "attribute_exists(attempts) AND (attribute_not_exists(locked_until) OR locked_until < :until)"
                ),
                ExpressionAttributeValues={
                    ":until": to_attr(locked_until),
                    ":next": to_attr(attempts + 1),
                },
            )
        except ConditionFailed:
            return  # cleared by a success meanwhile, or a longer lock is already in place

    def clear(self, *, owner: str) -> None:
        """Forget every attempt (the account's owner signed in)."""
        self._call("delete_item", Key=self._key(owner, ATTEMPTS_KEY))

    def release(self, *, owner: str) -> None:
        """Give back one admitted attempt (it succeeded, or was refused by another scope)."""
        self._decrement(owner, ATTEMPTS_KEY, "attempts")

    def spend_budget(self, *, owner: str, window: str, limit: int, expires_at_epoch: int) -> bool:
        """Take one attempt from the window's budget; False when it is used up."""
        try:
            self._call("update_item", **self._budget_update(owner, window, limit, expires_at_epoch))
        except ConditionFailed:
            return False
        return True

    def refund_budget(self, *, owner: str, window: str) -> None:
        """A successful sign-in does not use the budget up."""
        self._decrement(owner, login_budget_sk(window), "spent")

    def _decrement(self, owner: str, key: str, attribute: str) -> None:
        try:
            self._call("update_item", **self._decrement_update(owner, key, attribute))
        except ConditionFailed:
            return

    def _admit_update(
        self, owner: str, now: float, threshold: int, stale_before: float, expires_at_epoch: int
    ) -> dict[str, Any]:
        return {
            "Key": self._key(owner, ATTEMPTS_KEY),
            "UpdateExpression": (
                "ADD attempts :one SET allowed = if_not_exists(allowed, :threshold), "
                "reserved_at = :now, expires_at_epoch = :exp"
            ),
            "ConditionExpression": (
                "attribute_not_exists(attempts) OR ("
                "(attribute_not_exists(locked_until) OR locked_until <= :now) AND "
                "(attempts < allowed OR reserved_at < :stale))"
            ),
            "ExpressionAttributeValues": {
                ":one": to_attr(1),
                ":threshold": to_attr(threshold),
                ":now": to_attr(now),
                ":stale": to_attr(stale_before),
                ":exp": to_attr(expires_at_epoch),
            },
        }

    def _budget_update(self, owner: str, window: str, limit: int, expires_at_epoch: int) -> dict[str, Any]:
        return {
            "Key": self._key(owner, login_budget_sk(window)),
            "UpdateExpression": "ADD spent :one SET expires_at_epoch = if_not_exists(expires_at_epoch, :exp)",
            "ConditionExpression": "attribute_not_exists(spent) OR spent < :limit",
            "ExpressionAttributeValues": {
                ":one": to_attr(1),
                ":limit": to_attr(limit),
                ":exp": to_attr(expires_at_epoch),
            },
        }

    def _decrement_update(self, owner: str, key: str, attribute: str) -> dict[str, Any]:
        return {
            "Key": self._key(owner, key),
            "UpdateExpression": "ADD #n :minus",
            "ConditionExpression": "#n > :zero",
            "ExpressionAttributeNames": {"#n": attribute},
            "ExpressionAttributeValues": {":minus": to_attr(-1), ":zero": to_attr(0)},
        }

    def _get(self, owner: str, key: str) -> dict[str, Any] | None:
        item = self._call("get_item", Key=self._key(owner, key), ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def _delete_if(self, owner: str, key: str, *, expires_at_epoch: int) -> None:
        try:
            self._call(
                "delete_item",
                Key=self._key(owner, key),
                ConditionExpression="expires_at_epoch = :exp",
                ExpressionAttributeValues={":exp": to_attr(expires_at_epoch)},
            )
        except ConditionFailed:
            return

    @staticmethod
    def _key(owner: str, key: str) -> dict[str, Any]:
        return record_key(owner, key)
