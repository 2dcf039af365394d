"""Creating scans: one transaction with the scan's marker and the user check, idempotent by key."""

from typing import Any

from app.db.dynamodb import from_item, to_attr, to_item
from app.db.keys import SCAN_IDEMPOTENCY_PREFIX, scan_idempotency_key
from app.scans.models import ScanGoneError, ScanIdempotencyGuard, ScanRecord
from app.scans.repository_base import ScansTable

_REFUSED = {"ConditionalCheckFailed", "TransactionConflict"}


class ScanCreation(ScansTable):
    """New scans: awaiting their photos (`create`) or arriving with them (`create_queued`)."""

    def create(
        self, *, scan: ScanRecord, idempotency_ttl_epoch: int | None = None, now_epoch: int = 0
    ) -> tuple[ScanRecord, bool]:
        """Write a new scan awaiting its photos, with its upload-expiry marker (ScanGoneError
        if the user is gone or being deleted).

        With an idempotency key, a repeat returns `(first scan, False)`; a key whose scan was
        deleted (or whose guard outlived its TTL) is taken over by the new scan.
        """
        return self._insert(
            scan=scan,
            marker=self._expiry_marker(scan, "put"),
            idempotency_ttl_epoch=idempotency_ttl_epoch,
            now_epoch=now_epoch,
        )

    def create_queued(
        self, *, scan: ScanRecord, idempotency_ttl_epoch: int | None = None, now_epoch: int = 0
    ) -> tuple[ScanRecord, bool]:
        """Write a new scan whose photos came with it: `queued`, or `processing` already
        claimed (a lease) by the worker analysing it, with its job marker (recovery finds
        it either way), in the same one transaction (and with the same conditions and
        idempotency) as `create`."""
        if scan.status not in {"queued", "processing"} or (scan.status == "processing") != bool(
            scan.lease_expires_at
        ):
            raise ValueError("create_queued stores queued scans, or processing ones under a lease")
        return self._insert(
            scan=scan,
            marker=self._job_marker(scan, "put"),
            idempotency_ttl_epoch=idempotency_ttl_epoch,
            now_epoch=now_epoch,
        )

    def _insert(
        self, *, scan: ScanRecord, marker: dict[str, Any], idempotency_ttl_epoch: int | None, now_epoch: int
    ) -> tuple[ScanRecord, bool]:
        put_scan = {
            "Put": {
                "TableName": self.table_name,
                "Item": to_item(scan.model_dump()),
                "ConditionExpression": "attribute_not_exists(scan_id)",
            }
        }
        base = [put_scan, marker, *self._user_alive(scan.user_id)]
        if not scan.idempotency_key:
            if self._write(base) is not None:
                raise ScanGoneError()
            return scan, True
        guard = {
            "user_id": scan.user_id,
            "sk": SCAN_IDEMPOTENCY_PREFIX + scan.idempotency_key,
            **ScanIdempotencyGuard(scan_id=scan.scan_id, expires_at_epoch=idempotency_ttl_epoch).model_dump(),
        }
        for _ in range(3):
            existing = self._guard(user_id=scan.user_id, key=scan.idempotency_key)
            if existing and existing.live(now_epoch):
                first = self.get(user_id=scan.user_id, scan_id=existing.scan_id)
                if first is not None:
                    return first, False
            # No guard, an expired one, or one whose scan was deleted: (re)place it, conditional
            # on exactly what was read, so two racing requests cannot both win.
            put_guard: dict[str, Any] = {"TableName": self.records_table, "Item": to_item(guard)}
            if existing:
                put_guard["ConditionExpression"] = "scan_id = :seen"
                put_guard["ExpressionAttributeValues"] = {":seen": to_attr(existing.scan_id)}
            else:
                put_guard["ConditionExpression"] = "attribute_not_exists(sk)"
            reasons = self._write([*base, {"Put": put_guard}])
            if reasons is None:
                return scan, True
            if reasons[-1] not in _REFUSED:
                raise ScanGoneError()  # the guard was fine: the user check refused the write
        raise ScanGoneError()

    def _guard(self, *, user_id: str, key: str) -> ScanIdempotencyGuard | None:
        result = self._call(
            "get_item",
            TableName=self.records_table,
            Key=scan_idempotency_key(user_id, key),
            ConsistentRead=True,
        )
        item = result.get("Item")
        return ScanIdempotencyGuard.model_validate(from_item(item)) if item else None

    def find_idempotent(self, *, user_id: str, key: str, now_epoch: int) -> ScanRecord | None:
        """The live scan a still-valid idempotency key points at, if any."""
        guard = self._guard(user_id=user_id, key=key)
        if not guard or not guard.live(now_epoch):
            return None
        return self.get(user_id=user_id, scan_id=guard.scan_id)
