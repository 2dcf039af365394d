"""Consultations in the records table (the user's partition, `consultation#<id>`).

A new consultation is written in a transaction with the user-alive check, so nothing is
added for an account that is gone or being deleted. Every later change is one conditional
update on the item: sending, cancelling and rating cannot race each other into a state the
rules forbid (a rating twice, a cancelled request marked sent).
"""

from typing import Any

from app.consultations.models import ConsultationRating, ConsultationRecord
from app.core.security import iso
from app.db.dynamodb import from_item, to_attr, to_item
from app.db.guards import UserGoneError, transact, user_alive_check
from app.db.keys import CONSULTATION_PREFIX, consultation_key, consultation_sk
from app.db.repository import ConditionFailed, Repository


class ConsultationsRepository(Repository):
    def create(self, *, record: ConsultationRecord) -> None:
        """Store a new consultation; UserGoneError if the account is gone or being deleted."""
        item = {"sk": consultation_sk(record.consultation_id), **record.model_dump(mode="json")}
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": to_item(item),
                    "ConditionExpression": "attribute_not_exists(sk)",
                }
            },
            *user_alive_check(users_table=self.users_table, user_id=record.user_id),
        ]
        if transact(self._call, actions=actions) is not None:
            # The key is a fresh ULID, so only the user check can have refused it.
            raise UserGoneError()

    def get(self, *, user_id: str, consultation_id: str) -> ConsultationRecord | None:
        result = self._call("get_item", Key=consultation_key(user_id, consultation_id), ConsistentRead=True)
        item = result.get("Item")
        return ConsultationRecord.model_validate(from_item(item)) if item else None

    def get_page(
        self, *, user_id: str, limit: int, cursor: str | None
    ) -> tuple[list[ConsultationRecord], str | None]:
        """Newest first."""
        items, next_cursor = self._query_prefix_page(
            user_id=user_id, prefix=CONSULTATION_PREFIX, limit=limit, cursor=cursor
        )
        return [ConsultationRecord.model_validate(item) for item in items], next_cursor

    def all_for_user(self, *, user_id: str) -> list[ConsultationRecord]:
        items = self._query_prefix(user_id=user_id, prefix=CONSULTATION_PREFIX, ConsistentRead=True)
        return [ConsultationRecord.model_validate(item) for item in items]

    def delete_all(self, *, user_id: str) -> int:
        """Every consultation item of the user (account erasure)."""
        records = self.all_for_user(user_id=user_id)
        self._delete_keys([consultation_key(user_id, r.consultation_id) for r in records])
        return len(records)

    # ---- conditional changes: None when the condition refused it ----

    def _update(
        self, *, record: ConsultationRecord, expression: str, condition: str, values: dict[str, Any]
    ) -> ConsultationRecord | None:
        kwargs: dict[str, Any] = {
            "Key": consultation_key(record.user_id, record.consultation_id),
            "UpdateExpression": expression,
            "ConditionExpression": f"attribute_exists(sk) AND ({condition})",
            "ExpressionAttributeValues": {k: to_attr(v) for k, v in values.items()},
            "ReturnValues": "ALL_NEW",
        }
        if "#status" in expression + condition:
            kwargs["ExpressionAttributeNames"] = {"#status": "status"}
        try:
            result = self._call("update_item", **kwargs)
        except ConditionFailed:
            return None
        return ConsultationRecord.model_validate(from_item(result["Attributes"]))

    def mark_sent(self, *, record: ConsultationRecord, now: str) -> ConsultationRecord | None:
        """pending → sent (not once cancelled)."""
        return self._update(
            record=record,
            expression="SET #status = :sent, sent_at = :now, updated_at = :now, "
            "send_attempts = send_attempts + :one REMOVE last_send_error",
            condition="#status = :pending",
            values={":sent": "sent", ":pending": "pending", ":now": now, ":one": 1},
        )

    def record_send_failure(
        self, *, record: ConsultationRecord, now: str, error: str
    ) -> ConsultationRecord | None:
        """Count a failed delivery on a still-pending consultation."""
        return self._update(
            record=record,
            expression="SET last_send_error = :error, updated_at = :now, send_attempts = send_attempts + :one",
            condition="#status = :pending",
            values={":pending": "pending", ":now": now, ":one": 1, ":error": error[:300]},
        )

    def cancel(self, *, record: ConsultationRecord, now: str) -> ConsultationRecord | None:
        """pending | sent → cancelled."""
        return self._update(
            record=record,
            expression="SET #status = :cancelled, cancelled_at = :now, updated_at = :now",
            condition="#status IN (:pending, :sent)",
            values={":cancelled": "cancelled", ":pending": "pending", ":sent": "sent", ":now": now},
        )

    def rate(self, *, record: ConsultationRecord, rating: ConsultationRating) -> ConsultationRecord | None:
        """Store the one rating of a consultation that was sent."""
        return self._update(
            record=record,
            expression="SET rating = :rating, updated_at = :now",
            condition="attribute_exists(sent_at) AND attribute_not_exists(rating)",
            values={
                ":rating": rating.model_dump(mode="json", exclude_none=True),
                ":now": iso(rating.rated_at),
            },
        )
