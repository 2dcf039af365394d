"""Sign-in attempt counters (in the records table), counted atomically *before* a password check.

One item per account or client address (`sk = "login-attempts"`):
- `attempts`: attempts admitted so far (each is presumed a failure until it succeeds),
- `allowed`: how many may be admitted before the next lockout decision,
- `locked_until`: epoch seconds; nothing is admitted before it,
- `reserved_at`: when the last attempt was admitted (a crash between admitting and deciding
  must not jam the key forever, so an old reservation stops blocking).
Admission is one conditional `ADD`: concurrent guesses cannot all pass a check that has not
yet seen the others.

The per-account budget is a plain fixed-window counter (`sk = "login-budget#<hour>"`) that
admits at most `limit` failed attempts per window, whatever address they come from.
"""

from dataclasses import dataclass
from typing import Any

from app.db.dynamodb import from_item, to_attr
from app.db.keys import LOGIN_ATTEMPTS_SK, login_budget_sk, record_key
from app.db.repository import ConditionFailed, Repository

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
                    Key=self._key(owner, ATTEMPTS_KEY),
                    UpdateExpression=(
                        "ADD attempts :one SET allowed = if_not_exists(allowed, :threshold), "
                        "reserved_at = :now, expires_at_epoch = :exp"
                    ),
                    ConditionExpression=(
                        "attribute_not_exists(attempts) OR ("
                        "(attribute_not_exists(locked_until) OR locked_until <= :now) AND "
                        "(attempts < allowed OR reserved_at < :stale))"
                    ),
                    ExpressionAttributeValues={
                        ":one": to_attr(1),
                        ":threshold": to_attr(threshold),
                        ":now": to_attr(now),
                        ":stale": to_attr(stale_before),
                        ":exp": to_attr(expires_at_epoch),
                    },
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
            self._call(
                "update_item",
                Key=self._key(owner, login_budget_sk(window)),
                UpdateExpression="ADD spent :one SET expires_at_epoch = if_not_exists(expires_at_epoch, :exp)",
                ConditionExpression="attribute_not_exists(spent) OR spent < :limit",
                ExpressionAttributeValues={
                    ":one": to_attr(1),
                    ":limit": to_attr(limit),
                    ":exp": to_attr(expires_at_epoch),
                },
            )
        except ConditionFailed:
            return False
        return True

    def refund_budget(self, *, owner: str, window: str) -> None:
        """A successful sign-in does not use the budget up."""
        self._decrement(owner, login_budget_sk(window), "spent")

    def _decrement(self, owner: str, key: str, attribute: str) -> None:
        try:
            self._call(
                "update_item",
                Key=self._key(owner, key),
                UpdateExpression="ADD #n :minus",
                ConditionExpression="#n > :zero",
                ExpressionAttributeNames={"#n": attribute},
                ExpressionAttributeValues={":minus": to_attr(-1), ":zero": to_attr(0)},
            )
        except ConditionFailed:
            return

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
