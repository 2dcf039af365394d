"""Scans table: one item per scan, which is also the durable record of its analysis job.

Pending work is findable without a table Scan: while a scan is `queued` or `processing`,
a marker item lives in the records table under the partition `system#analysis-jobs`,
written in the same transaction as the status change and removed with the result.
"""

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.db.dynamodb import from_item, to_attr, to_item
from app.repositories.base import (
    ConditionFailed,
    Repository,
    TransactionCancelled,
    update_expression,
)

ScanStatus = Literal["awaiting_upload", "queued", "processing", "completed", "failed"]
JOBS_PARTITION = "system#analysis-jobs"
IDEMPOTENCY_PREFIX = "idempotency#scan-create#"


class ScanRecord(BaseModel):
    user_id: str
    scan_id: str
    scan_date: str = Field(description="Creation time, ISO 8601 UTC (LSI sort key).")
    status: ScanStatus
    angles: list[str]
    upload_keys: dict[str, str] = Field(default_factory=dict)
    image_keys: dict[str, str] = Field(default_factory=dict)
    overlay_key: str | None = None
    created_at: str
    updated_at: str
    submitted_at: str | None = None
    processing_started_at: str | None = None
    lease_expires_at: str | None = None
    completed_at: str | None = None
    attempts: int = 0
    passed_quality: bool | None = None
    quality: dict[str, Any] | None = None
    scores: dict[str, float] | None = None
    analysis: dict[str, Any] | None = None
    deltas: dict[str, Any] | None = None
    failure: dict[str, Any] | None = None
    idempotency_key: str | None = None


class ScansRepository(Repository):
    """The only code that reads or writes the scans table (and its job markers)."""

    def __init__(self, client: Any, table_name: str, records_table: str) -> None:
        super().__init__(client, table_name)
        self.records_table = records_table

    def create(self, *, scan: ScanRecord, idempotency_ttl_epoch: int | None = None) -> ScanRecord:
        """Write a new scan; with an idempotency key, a repeat returns the first scan instead."""
        put_scan = {
            "Put": {
                "TableName": self.table_name,
                "Item": to_item(scan.model_dump()),
                "ConditionExpression": "attribute_not_exists(scan_id)",
            }
        }
        if not scan.idempotency_key:
            self._call("transact_write_items", TransactItems=[put_scan])
            return scan
        guard = {
            "user_id": scan.user_id,
            "sk": IDEMPOTENCY_PREFIX + scan.idempotency_key,
            "scan_id": scan.scan_id,
            "expires_at_epoch": idempotency_ttl_epoch,
        }
        try:
            self._call(
                "transact_write_items",
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.records_table,
                            "Item": to_item(guard),
                            "ConditionExpression": "attribute_not_exists(sk)",
                        }
                    },
                    put_scan,
                ],
            )
            return scan
        except TransactionCancelled as exc:
            if "ConditionalCheckFailed" not in exc.reasons and "TransactionConflict" not in exc.reasons:
                raise
        existing = self._idempotent_scan(user_id=scan.user_id, key=scan.idempotency_key)
        return existing or scan

    def _idempotent_scan(self, *, user_id: str, key: str) -> ScanRecord | None:
        result = self._call(
            "get_item",
            TableName=self.records_table,
            Key={"user_id": to_attr(user_id), "sk": to_attr(IDEMPOTENCY_PREFIX + key)},
            ConsistentRead=True,
        )
        item = result.get("Item")
        return self.get(user_id=user_id, scan_id=from_item(item)["scan_id"]) if item else None

    def get(self, *, user_id: str, scan_id: str) -> ScanRecord | None:
        result = self._call(
            "get_item", Key={"user_id": to_attr(user_id), "scan_id": to_attr(scan_id)}, ConsistentRead=True
        )
        item = result.get("Item")
        return ScanRecord.model_validate(from_item(item)) if item else None

    def get_page(
        self,
        *,
        user_id: str,
        limit: int,
        cursor: str | None,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> tuple[list[ScanRecord], str | None]:
        """Newest first; with a date range, through the scan-date index."""
        values = {":uid": to_attr(user_id)}
        condition = "user_id = :uid"
        index: dict[str, Any] = {}
        cursor_keys = {"scan_id"}
        if date_from or date_to:
            index = {"IndexName": "scan-date-index"}
            cursor_keys = {"scan_id", "scan_date"}
            values[":from"] = to_attr(date_from or "0000")
            values[":to"] = to_attr(date_to or "9999")
            condition += " AND scan_date BETWEEN :from AND :to"
        items, next_cursor = self._query_page(
            user_id=user_id,
            limit=limit,
            cursor=cursor,
            cursor_keys=cursor_keys,
            forward=False,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            **index,
        )
        return [ScanRecord.model_validate(item) for item in items], next_cursor

    def completed_between(self, *, user_id: str, date_from: str, date_to: str) -> list[ScanRecord]:
        """Completed scans that passed the quality gate, oldest first (progress series)."""
        items = self._query_all(
            TableName=self.table_name,
            IndexName="scan-date-index",
            KeyConditionExpression="user_id = :uid AND scan_date BETWEEN :from AND :to",
            FilterExpression="#status = :completed AND passed_quality = :true",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":uid": to_attr(user_id),
                ":from": to_attr(date_from),
                ":to": to_attr(date_to),
                ":completed": to_attr("completed"),
                ":true": to_attr(True),
            },
        )
        return [ScanRecord.model_validate(item) for item in items]

    def latest_completed(self, *, user_id: str, before_scan_id: str | None = None) -> ScanRecord | None:
        """The newest completed scan that passed quality (optionally older than a scan)."""
        values = {":uid": to_attr(user_id), ":completed": to_attr("completed"), ":true": to_attr(True)}
        condition = "user_id = :uid"
        if before_scan_id:
            condition += " AND scan_id < :before"
            values[":before"] = to_attr(before_scan_id)
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": condition,
            "FilterExpression": "#status = :completed AND passed_quality = :true",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": 25,
        }
        while True:
            page = self._call("query", **kwargs)
            if page.get("Items"):
                return ScanRecord.model_validate(from_item(page["Items"][0]))
            if "LastEvaluatedKey" not in page:
                return None
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def all_for_user(self, *, user_id: str) -> list[ScanRecord]:
        items = self._query_all(
            TableName=self.table_name,
            KeyConditionExpression="user_id = :uid",
            ExpressionAttributeValues={":uid": to_attr(user_id)},
        )
        return [ScanRecord.model_validate(item) for item in items]

    # ---- status transitions (each one conditional, so a retry or a second worker is harmless) ----

    def mark_uploaded(self, *, scan: ScanRecord, image_keys: dict[str, str], now: str) -> bool:
        """awaiting_upload → queued, with the job marker; False if it had already moved on."""
        return self._transition(
            scan=scan,
            expected=("awaiting_upload",),
            updates={"status": "queued", "image_keys": image_keys, "submitted_at": now, "updated_at": now},
            marker="put",
        )

    def requeue(self, *, scan: ScanRecord, now: str) -> bool:
        """failed → queued (a retry)."""
        return self._transition(
            scan=scan,
            expected=("failed",),
            updates={"status": "queued", "updated_at": now, "submitted_at": now},
            removes=("failure", "lease_expires_at"),
            marker="put",
        )

    def claim(self, *, user_id: str, scan_id: str, now: str, lease_until: str) -> ScanRecord | None:
        """queued (or processing with an expired lease) → processing; None if someone else has it."""
        try:
            result = self._call(
                "update_item",
                Key={"user_id": to_attr(user_id), "scan_id": to_attr(scan_id)},
                UpdateExpression="SET #status = :processing, processing_started_at = :now, "
                "lease_expires_at = :lease, updated_at = :now ADD attempts :one",
                ConditionExpression="#status = :queued OR (#status = :processing AND lease_expires_at < :now)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":processing": to_attr("processing"),
                    ":queued": to_attr("queued"),
                    ":now": to_attr(now),
                    ":lease": to_attr(lease_until),
                    ":one": to_attr(1),
                },
                ReturnValues="ALL_NEW",
            )
        except ConditionFailed:
            return None
        return ScanRecord.model_validate(from_item(result["Attributes"]))

    def finish(self, *, scan: ScanRecord, updates: dict[str, Any]) -> bool:
        """processing → completed | failed, removing the job marker in the same transaction."""
        return self._transition(
            scan=scan,
            expected=("processing",),
            updates=updates,
            removes=("lease_expires_at",),
            marker="delete",
        )

    def _transition(
        self,
        *,
        scan: ScanRecord,
        expected: tuple[str, ...],
        updates: dict[str, Any],
        removes: tuple[str, ...] = (),
        marker: Literal["put", "delete"],
    ) -> bool:
        expression, names, values = update_expression({**updates, **dict.fromkeys(removes)})
        names["#status"] = "status"
        expected_terms = []
        for index, status in enumerate(expected):
            values[f":e{index}"] = to_attr(status)
            expected_terms.append(f"#status = :e{index}")
        marker_key = {"user_id": to_attr(JOBS_PARTITION), "sk": to_attr(f"{scan.user_id}#{scan.scan_id}")}
        marker_action: dict[str, Any]
        if marker == "put":
            marker_item = to_item(
                {
                    "user_id": JOBS_PARTITION,
                    "sk": f"{scan.user_id}#{scan.scan_id}",
                    "owner_id": scan.user_id,
                    "scan_id": scan.scan_id,
                }
            )
            marker_action = {"Put": {"TableName": self.records_table, "Item": marker_item}}
        else:
            marker_action = {"Delete": {"TableName": self.records_table, "Key": marker_key}}
        try:
            self._call(
                "transact_write_items",
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": {"user_id": to_attr(scan.user_id), "scan_id": to_attr(scan.scan_id)},
                            "UpdateExpression": expression,
                            "ConditionExpression": " OR ".join(expected_terms),
                            "ExpressionAttributeNames": names,
                            "ExpressionAttributeValues": values,
                        }
                    },
                    marker_action,
                ],
            )
            return True
        except TransactionCancelled as exc:
            if exc.reasons and exc.reasons[0] in {"ConditionalCheckFailed", "TransactionConflict"}:
                return False
            raise

    def pending_jobs(self) -> list[tuple[str, str]]:
        """(user_id, scan_id) of every queued or processing scan, for recovery."""
        items = self._query_all(
            TableName=self.records_table,
            KeyConditionExpression="user_id = :jobs",
            ExpressionAttributeValues={":jobs": to_attr(JOBS_PARTITION)},
        )
        return [(item["owner_id"], item["scan_id"]) for item in items]

    def delete(self, *, user_id: str, scan_id: str) -> None:
        """Remove the scan and any job marker (idempotent)."""
        self._call(
            "transact_write_items",
            TransactItems=[
                {
                    "Delete": {
                        "TableName": self.table_name,
                        "Key": {"user_id": to_attr(user_id), "scan_id": to_attr(scan_id)},
                    }
                },
                {
                    "Delete": {
                        "TableName": self.records_table,
                        "Key": {"user_id": to_attr(JOBS_PARTITION), "sk": to_attr(f"{user_id}#{scan_id}")},
                    }
                },
            ],
        )

    def delete_all(self, *, user_id: str) -> int:
        """Every scan of the user and their job markers (account deletion); safe to repeat."""
        scans = self.all_for_user(user_id=user_id)
        self._delete_keys([{"user_id": to_attr(user_id), "scan_id": to_attr(s.scan_id)} for s in scans])
        markers = [
            {"user_id": to_attr(JOBS_PARTITION), "sk": to_attr(f"{user_id}#{s.scan_id}")}
            for s in scans
            if s.status in {"queued", "processing"}
        ]
        for start in range(0, len(markers), 25):
            requests = [{"DeleteRequest": {"Key": key}} for key in markers[start : start + 25]]
            self._call("batch_write_item", RequestItems={self.records_table: requests})
        return len(scans)
