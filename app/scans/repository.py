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

from datetime import datetime
from typing import Any

from app.core.security import iso
from app.db.keys import scan_job_key, scan_key, upload_expiry_key
from app.scans.models import ScanGoneError, ScanRecord, ScanStatus
from app.scans.repository_create import ScanCreation
from app.scans.repository_queries import ScanQueries
from app.scans.repository_transitions import ScanTransitions

__all__ = ["ScanGoneError", "ScanRecord", "ScanStatus", "ScansRepository"]


class ScansRepository(ScanCreation, ScanQueries, ScanTransitions):
    """The only code that reads or writes the scans table (and its job markers).

    Split by responsibility: `repository_create` (new scans, idempotency), `repository_queries`
    (pages and ranges), `repository_transitions` (status changes, claims, expiry); deletion
    stays here.
    """

    def delete(self, *, user_id: str, scan_id: str, created_at: datetime | None = None) -> None:
        """Remove the scan and any job or upload-expiry marker (idempotent)."""
        actions: list[dict[str, Any]] = [
            {"Delete": {"TableName": self.table_name, "Key": scan_key(user_id, scan_id)}},
            {"Delete": {"TableName": self.records_table, "Key": scan_job_key(user_id, scan_id)}},
        ]
        if created_at:
            actions.append(
                {
                    "Delete": {
                        "TableName": self.records_table,
                        "Key": upload_expiry_key(iso(created_at), user_id, scan_id),
                    }
                }
            )
        self._call("transact_write_items", TransactItems=actions)
        self._bump(user_id)

    def delete_all(self, *, user_id: str) -> int:
        """Every scan of the user and their job and expiry markers (account deletion); safe to repeat."""
        scans = self.all_for_user(user_id=user_id)
        self._delete_keys([scan_key(user_id, s.scan_id) for s in scans])
        markers = [
            scan_job_key(user_id, s.scan_id) for s in scans if s.status in {"queued", "processing"}
        ] + [
            upload_expiry_key(iso(s.created_at), user_id, s.scan_id)
            for s in scans
            if s.status == "awaiting_upload"
        ]
        for start in range(0, len(markers), 25):
            requests = [{"DeleteRequest": {"Key": key}} for key in markers[start : start + 25]]
            self._call("batch_write_item", RequestItems={self.records_table: requests})
        return len(scans)
