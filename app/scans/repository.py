"""Scans table: one item per scan, which is also the durable record of its analysis job.

Pending work is findable without a table Scan: while a scan is `queued` or `processing`,
a marker item lives in the records table under the partition `system#analysis-jobs`,
written in the same transaction as the status change and removed with the result. Likewise,
while a scan awaits its photos a marker under `system#upload-expiry` (sorted by creation
time) lets the sweep find abandoned uploads.

Every write that adds to a scan is conditional on the scan still being in the expected state
and on its user still existing and not being deleted (a `ConditionCheck` on the user item in
the same transaction), so nothing can be written for a scan or account that is gone.
"""

import time
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.core.errors import DependencyUnavailableError
from app.db.dynamodb import from_item, to_attr, to_item
from app.db.repository import (
    ConditionFailed,
    Repository,
    TransactionCancelled,
    update_expression,
)

ScanStatus = Literal["awaiting_upload", "queued", "processing", "completed", "failed", "expired"]
JOBS_PARTITION = "system#analysis-jobs"
UPLOAD_EXPIRY_PARTITION = "system#upload-expiry"
IDEMPOTENCY_PREFIX = "idempotency#scan-create#"
_REFUSED = {"ConditionalCheckFailed", "TransactionConflict"}


class ScanGoneError(Exception):
    """The scan or its user no longer accepts writes (deleted, deletion pending, or moved on)."""


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

    def __init__(self, client: Any, table_name: str, records_table: str, users_table: str = "") -> None:
        super().__init__(client, table_name)
        self.records_table = records_table
        self.users_table = users_table

    def _user_alive(self, user_id: str) -> list[dict[str, Any]]:
        """A ConditionCheck: the user exists and no deletion was requested (an account
        deletion writes that mark first, so every write after it is refused)."""
        if not self.users_table:
            return []
        return [
            {
                "ConditionCheck": {
                    "TableName": self.users_table,
                    "Key": {"user_id": to_attr(user_id)},
                    "ConditionExpression": "attribute_exists(user_id) AND attribute_not_exists(deletion_requested_at)",
                }
            }
        ]

    @staticmethod
    def _expiry_sk(scan: ScanRecord) -> str:
        return f"{scan.created_at}#{scan.user_id}#{scan.scan_id}"

    def _expiry_marker(self, scan: ScanRecord, action: Literal["put", "delete"]) -> dict[str, Any]:
        key = {"user_id": to_attr(UPLOAD_EXPIRY_PARTITION), "sk": to_attr(self._expiry_sk(scan))}
        if action == "delete":
            return {"Delete": {"TableName": self.records_table, "Key": key}}
        item = {**key, "owner_id": to_attr(scan.user_id), "scan_id": to_attr(scan.scan_id)}
        return {"Put": {"TableName": self.records_table, "Item": item}}

    def _write(self, actions: list[dict[str, Any]]) -> list[str] | None:
        """Run a transaction; None when it was written, the cancellation reasons when refused.

        A `TransactionConflict` (another request on one of the items at that moment, e.g. a
        sign-in updating the user item) is retried briefly: it says nothing about the state.
        """
        for attempt in range(4):
            try:
                self._call("transact_write_items", TransactItems=actions)
                return None
            except TransactionCancelled as exc:
                if "ConditionalCheckFailed" in exc.reasons:
                    return exc.reasons
                if "TransactionConflict" not in exc.reasons:
                    raise
                if attempt == 3:
                    raise DependencyUnavailableError("The database is busy; try again shortly.") from exc
                time.sleep(0.02 * (attempt + 1))
        return None  # pragma: no cover - the loop always returns

    def create(
        self, *, scan: ScanRecord, idempotency_ttl_epoch: int | None = None, now_epoch: int = 0
    ) -> tuple[ScanRecord, bool]:
        """Write a new scan (ScanGoneError if the user is gone or being deleted).

        With an idempotency key, a repeat returns `(first scan, False)`; a key whose scan was
        deleted (or whose guard outlived its TTL) is taken over by the new scan.
        """
        put_scan = {
            "Put": {
                "TableName": self.table_name,
                "Item": to_item(scan.model_dump()),
                "ConditionExpression": "attribute_not_exists(scan_id)",
            }
        }
        base = [put_scan, self._expiry_marker(scan, "put"), *self._user_alive(scan.user_id)]
        if not scan.idempotency_key:
            if self._write(base) is not None:
                raise ScanGoneError()
            return scan, True
        guard = {
            "user_id": scan.user_id,
            "sk": IDEMPOTENCY_PREFIX + scan.idempotency_key,
            "scan_id": scan.scan_id,
            "expires_at_epoch": idempotency_ttl_epoch,
        }
        for _ in range(3):
            existing = self._guard(user_id=scan.user_id, key=scan.idempotency_key)
            if existing and int(existing.get("expires_at_epoch") or 0) >= now_epoch:
                first = self.get(user_id=scan.user_id, scan_id=existing["scan_id"])
                if first is not None:
                    return first, False
            # No guard, an expired one, or one whose scan was deleted: (re)place it, conditional
            # on exactly what was read, so two racing requests cannot both win.
            put_guard: dict[str, Any] = {"TableName": self.records_table, "Item": to_item(guard)}
            if existing:
                put_guard["ConditionExpression"] = "scan_id = :seen"
                put_guard["ExpressionAttributeValues"] = {":seen": to_attr(existing["scan_id"])}
            else:
                put_guard["ConditionExpression"] = "attribute_not_exists(sk)"
            reasons = self._write([*base, {"Put": put_guard}])
            if reasons is None:
                return scan, True
            if reasons[-1] not in _REFUSED:
                raise ScanGoneError()  # the guard was fine: the user check refused the write
        raise ScanGoneError()

    def _guard(self, *, user_id: str, key: str) -> dict[str, Any] | None:
        result = self._call(
            "get_item",
            TableName=self.records_table,
            Key={"user_id": to_attr(user_id), "sk": to_attr(IDEMPOTENCY_PREFIX + key)},
            ConsistentRead=True,
        )
        item = result.get("Item")
        return from_item(item) if item else None

    def find_idempotent(self, *, user_id: str, key: str, now_epoch: int) -> ScanRecord | None:
        """The live scan a still-valid idempotency key points at, if any."""
        guard = self._guard(user_id=user_id, key=key)
        if not guard or int(guard.get("expires_at_epoch") or 0) < now_epoch:
            return None
        return self.get(user_id=user_id, scan_id=guard["scan_id"])

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
        """awaiting_upload → queued, with the job marker; False if it moved on, is gone, or its
        user is being deleted."""
        return self._transition(
            scan=scan,
            expected=("awaiting_upload",),
            updates={"status": "queued", "image_keys": image_keys, "submitted_at": now, "updated_at": now},
            marker="put",
            also=[self._expiry_marker(scan, "delete")],
        )

    def requeue(self, *, scan: ScanRecord, now: str) -> bool:
        """failed → queued (a user's retry), with a fresh budget of automatic attempts."""
        return self._transition(
            scan=scan,
            expected=("failed",),
            updates={"status": "queued", "updated_at": now, "submitted_at": now, "attempts": 0},
            removes=("failure", "lease_expires_at"),
            marker="put",
        )

    def accepts_uploads(self, *, user_id: str, scan_id: str) -> bool:
        """True while the scan awaits its photos and its user is not being deleted."""
        check = {
            "ConditionCheck": {
                "TableName": self.table_name,
                "Key": {"user_id": to_attr(user_id), "scan_id": to_attr(scan_id)},
                "ConditionExpression": "#status = :awaiting",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":awaiting": to_attr("awaiting_upload")},
            }
        }
        return self._write([check, *self._user_alive(user_id)]) is None

    def expire(self, *, scan: ScanRecord, now: str) -> bool:
        """awaiting_upload → expired (an abandoned upload); False if it had moved on."""
        try:
            self._call(
                "update_item",
                Key={"user_id": to_attr(scan.user_id), "scan_id": to_attr(scan.scan_id)},
                UpdateExpression="SET #status = :expired, updated_at = :now, "
                "failure = :failure REMOVE upload_keys",
                ConditionExpression="#status = :awaiting",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":expired": to_attr("expired"),
                    ":awaiting": to_attr("awaiting_upload"),
                    ":now": to_attr(now),
                    ":failure": to_attr(
                        {
                            "code": "upload_expired",
                            "message": "The photos were not submitted in time and have been deleted.",
                        }
                    ),
                },
            )
            return True
        except ConditionFailed:
            return False

    def abandoned_uploads(self, *, created_before: str, limit: int = 100) -> list[tuple[str, str, str]]:
        """(user_id, scan_id, created_at) of scans still awaiting photos, created before a time."""
        page = self._call(
            "query",
            TableName=self.records_table,
            KeyConditionExpression="user_id = :p AND sk < :before",
            ExpressionAttributeValues={
                ":p": to_attr(UPLOAD_EXPIRY_PARTITION),
                ":before": to_attr(created_before),
            },
            Limit=limit,
        )
        items = [from_item(item) for item in page.get("Items", [])]
        return [(i["owner_id"], i["scan_id"], i["sk"].split("#", 1)[0]) for i in items]

    def drop_expiry_marker(self, *, user_id: str, scan_id: str, created_at: str) -> None:
        self._call(
            "delete_item",
            TableName=self.records_table,
            Key={
                "user_id": to_attr(UPLOAD_EXPIRY_PARTITION),
                "sk": to_attr(f"{created_at}#{user_id}#{scan_id}"),
            },
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
        """processing → completed | failed, removing the job marker in the same transaction;
        False if the scan was deleted meanwhile (or its user is being deleted)."""
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
        also: list[dict[str, Any]] | None = None,
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
        update = {
            "Update": {
                "TableName": self.table_name,
                "Key": {"user_id": to_attr(scan.user_id), "scan_id": to_attr(scan.scan_id)},
                "UpdateExpression": expression,
                "ConditionExpression": " OR ".join(expected_terms),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }
        actions = [update, marker_action, *(also or []), *self._user_alive(scan.user_id)]
        return self._write(actions) is None

    def pending_jobs(self) -> list[tuple[str, str]]:
        """(user_id, scan_id) of every queued or processing scan, for recovery."""
        items = self._query_all(
            TableName=self.records_table,
            KeyConditionExpression="user_id = :jobs",
            ExpressionAttributeValues={":jobs": to_attr(JOBS_PARTITION)},
        )
        return [(item["owner_id"], item["scan_id"]) for item in items]

    def delete(self, *, user_id: str, scan_id: str, created_at: str | None = None) -> None:
        """Remove the scan and any job or upload-expiry marker (idempotent)."""
        actions: list[dict[str, Any]] = [
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
        ]
        if created_at:
            actions.append(
                {
                    "Delete": {
                        "TableName": self.records_table,
                        "Key": {
                            "user_id": to_attr(UPLOAD_EXPIRY_PARTITION),
                            "sk": to_attr(f"{created_at}#{user_id}#{scan_id}"),
                        },
                    }
                }
            )
        self._call("transact_write_items", TransactItems=actions)

    def delete_all(self, *, user_id: str) -> int:
        """Every scan of the user and their job and expiry markers (account deletion); safe to repeat."""
        scans = self.all_for_user(user_id=user_id)
        self._delete_keys([{"user_id": to_attr(user_id), "scan_id": to_attr(s.scan_id)} for s in scans])
        markers = [
            {"user_id": to_attr(JOBS_PARTITION), "sk": to_attr(f"{user_id}#{s.scan_id}")}
            for s in scans
            if s.status in {"queued", "processing"}
        ] + [
            {"user_id": to_attr(UPLOAD_EXPIRY_PARTITION), "sk": to_attr(self._expiry_sk(s))}
            for s in scans
            if s.status == "awaiting_upload"
        ]
        for start in range(0, len(markers), 25):
            requests = [{"DeleteRequest": {"Key": key}} for key in markers[start : start + 25]]
            self._call("batch_write_item", RequestItems={self.records_table: requests})
        return len(scans)
