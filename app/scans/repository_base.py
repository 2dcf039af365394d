"""What every part of the scans repository shares: the tables, the user check, markers, one read."""

from typing import Any, Literal

from app.core.security import iso, utc_now
from app.db.dynamodb import from_item, to_attr
from app.db.guards import SCAN_POINTER, bump_data_version, transact, user_alive_bump, user_alive_pointer
from app.db.keys import scan_job_key, scan_key, upload_expiry_key
from app.db.repository import Repository
from app.scans.models import ScanRecord

MarkerAction = Literal["put", "delete"]


class ScansTable(Repository):
    """The scans table plus the records-table markers that travel with its items."""

    def __init__(self, client: Any, table_name: str, records_table: str, users_table: str = "") -> None:
        super().__init__(client, table_name, users_table)
        self.records_table = records_table

    def get(self, *, user_id: str, scan_id: str) -> ScanRecord | None:
        """One scan, read consistently; None if it does not exist."""
        result = self._call("get_item", Key=scan_key(user_id, scan_id), ConsistentRead=True)
        item = result.get("Item")
        return ScanRecord.model_validate(from_item(item)) if item else None

    def _user_alive(self, user_id: str) -> list[dict[str, Any]]:
        """The user check (app/db/guards.py) that also moves the user's data version on."""
        return user_alive_bump(users_table=self.users_table, user_id=user_id)

    def _bump(self, user_id: str) -> None:
        """After a write without a transaction: the user's data version moves on."""
        bump_data_version(self._call, users_table=self.users_table, user_id=user_id)

    def _user_pointer(self, user_id: str, scan_id: str) -> list[dict[str, Any]]:
        """The user check that also moves the user's latest-scan pointer forward to `scan_id`."""
        return user_alive_pointer(
            users_table=self.users_table,
            user_id=user_id,
            pointer=SCAN_POINTER,
            value=scan_id,
            forward_only=True,
        )

    def _expiry_marker(self, scan: ScanRecord, action: MarkerAction) -> dict[str, Any]:
        """Put or delete the marker that lets the sweep find a scan still awaiting photos."""
        key = upload_expiry_key(iso(scan.created_at), scan.user_id, scan.scan_id)
        if action == "delete":
            return {"Delete": {"TableName": self.records_table, "Key": key}}
        item = {**key, "owner_id": to_attr(scan.user_id), "scan_id": to_attr(scan.scan_id)}
        return {"Put": {"TableName": self.records_table, "Item": item}}

    def _job_marker(self, scan: ScanRecord, action: MarkerAction) -> dict[str, Any]:
        """Put or delete the marker that lets recovery find a queued or processing scan."""
        key = scan_job_key(scan.user_id, scan.scan_id)
        if action == "delete":
            return {"Delete": {"TableName": self.records_table, "Key": key}}
        item = {**key, "owner_id": to_attr(scan.user_id), "scan_id": to_attr(scan.scan_id)}
        # When it was queued: the age of the oldest waiting scan (a metric), and when a job
        # sent to a shared queue has been waiting long enough to be sent again.
        item["queued_at"] = to_attr(iso(utc_now()))
        return {"Put": {"TableName": self.records_table, "Item": item}}

    def _write(self, actions: list[dict[str, Any]]) -> list[str] | None:
        """Run a transaction (conflicts retried briefly); the cancellation reasons when refused."""
        return transact(self._call, actions=actions)
