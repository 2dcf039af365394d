"""Status transitions and worker claims, each one conditional (a retry or a second worker is
harmless), and the upload-expiry marker the sweep walks."""

from typing import Any

from app.core.security import iso
from app.db.dynamodb import from_item, to_attr
from app.db.guards import user_alive_check
from app.db.keys import (
    SCAN_JOBS_PARTITION,
    UPLOAD_EXPIRY_PARTITION,
    scan_key,
    upload_expiry_created_at,
    upload_expiry_key,
)
from app.db.repository import ConditionFailed, update_expression
from app.scans.models import ScanFailureRecord, ScanRecord
from app.scans.repository_base import MarkerAction, ScansTable


class ScanTransitions(ScansTable):
    """awaiting_upload → queued → processing → completed | failed (→ queued on retry) | expired."""

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
                "Key": scan_key(user_id, scan_id),
                "ConditionExpression": "#status = :awaiting",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":awaiting": to_attr("awaiting_upload")},
            }
        }
        # A check only (nothing the user reads changes): no data version bump.
        return self._write([check, *user_alive_check(users_table=self.users_table, user_id=user_id)]) is None

    def claim(self, *, user_id: str, scan_id: str, now: str, lease_until: str) -> ScanRecord | None:
        """queued (or processing with an expired lease) → processing; None if someone else has it."""
        try:
            result = self._call(
                "update_item",
                Key=scan_key(user_id, scan_id),
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
        self._bump(user_id)  # the scan lists show it processing now
        return ScanRecord.model_validate(from_item(result["Attributes"]))

    def renew_lease(self, *, scan: ScanRecord, lease_until: str) -> bool:
        """Extend our claim on a processing scan (the worker's heartbeat); False once it is not ours."""
        if scan.lease_expires_at is None:
            return False
        try:
            self._call(
                "update_item",
                Key=scan_key(scan.user_id, scan.scan_id),
                UpdateExpression="SET lease_expires_at = :lease",
                ConditionExpression="#status = :processing AND lease_expires_at = :held",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":processing": to_attr("processing"),
                    ":held": to_attr(iso(scan.lease_expires_at)),
                    ":lease": to_attr(lease_until),
                },
            )
        except ConditionFailed:
            return False
        return True

    def finish(self, *, scan: ScanRecord, updates: dict[str, Any]) -> bool:
        """processing → completed | failed, removing the job marker in the same transaction;
        False if the scan was deleted meanwhile (or its user is being deleted)."""

        def write(user_action: list[dict[str, Any]] | None) -> bool:
            return self._transition(
                scan=scan,
                expected=("processing",),
                updates=updates,
                removes=("lease_expires_at",),
                marker="delete",
                user_action=user_action,
            )

        # A usable result moves the user item's pointer to this scan, unless it names a later
        # one (scans can finish out of order) or is unknown (an old account): the plain write.
        completed = updates.get("status") == "completed" and bool(updates.get("passed_quality"))
        if completed and write(self._user_pointer(scan.user_id, scan.scan_id)):
            return True
        return write(None)

    def _transition(
        self,
        *,
        scan: ScanRecord,
        expected: tuple[str, ...],
        updates: dict[str, Any],
        removes: tuple[str, ...] = (),
        marker: MarkerAction,
        also: list[dict[str, Any]] | None = None,
        user_action: list[dict[str, Any]] | None = None,
    ) -> bool:
        expression, names, values = update_expression({**updates, **dict.fromkeys(removes)})
        names["#status"] = "status"
        expected_terms = []
        for index, status in enumerate(expected):
            values[f":e{index}"] = to_attr(status)
            expected_terms.append(f"#status = :e{index}")
        update = {
            "Update": {
                "TableName": self.table_name,
                "Key": scan_key(scan.user_id, scan.scan_id),
                "UpdateExpression": expression,
                "ConditionExpression": " OR ".join(expected_terms),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }
        user = user_action if user_action is not None else self._user_alive(scan.user_id)
        actions = [update, self._job_marker(scan, marker), *(also or []), *user]
        return self._write(actions) is None

    def pending_jobs(self) -> list[tuple[str, str]]:
        """(user_id, scan_id) of every queued or processing scan, for recovery."""
        items = self._query_all(
            TableName=self.records_table,
            KeyConditionExpression="user_id = :jobs",
            ExpressionAttributeValues={":jobs": to_attr(SCAN_JOBS_PARTITION)},
        )
        return [(item["owner_id"], item["scan_id"]) for item in items]

    def pending_job_times(self) -> list[tuple[str, str, str | None]]:
        """(user_id, scan_id, queued_at) of every pending scan; queued_at is None on markers
        written before it was recorded."""
        items = self._query_all(
            TableName=self.records_table,
            KeyConditionExpression="user_id = :jobs",
            ExpressionAttributeValues={":jobs": to_attr(SCAN_JOBS_PARTITION)},
        )
        return [(item["owner_id"], item["scan_id"], item.get("queued_at")) for item in items]

    # ---- abandoned uploads (the sweep) ----

    def expire(self, *, scan: ScanRecord, now: str) -> bool:
        """awaiting_upload → expired (an abandoned upload); False if it had moved on."""
        try:
            self._call(
                "update_item",
                Key=scan_key(scan.user_id, scan.scan_id),
                UpdateExpression="SET #status = :expired, updated_at = :now, "
                "failure = :failure REMOVE upload_keys",
                ConditionExpression="#status = :awaiting",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":expired": to_attr("expired"),
                    ":awaiting": to_attr("awaiting_upload"),
                    ":now": to_attr(now),
                    ":failure": to_attr(
                        ScanFailureRecord(
                            code="upload_expired",
                            message="The photos were not submitted in time and have been deleted.",
                        ).model_dump()
                    ),
                },
            )
        except ConditionFailed:
            return False
        self._bump(scan.user_id)
        return True

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
        return [(i["owner_id"], i["scan_id"], upload_expiry_created_at(i["sk"])) for i in items]

    def drop_expiry_marker(self, *, user_id: str, scan_id: str, created_at: str) -> None:
        """Forget an upload-expiry marker (idempotent)."""
        self._call(
            "delete_item", TableName=self.records_table, Key=upload_expiry_key(created_at, user_id, scan_id)
        )
