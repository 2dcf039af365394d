"""Reading scans: pages (newest first, optionally by date), completed ranges, the latest usable."""

from typing import Any

from app.db.dynamodb import from_item, to_attr
from app.db.keys import SCAN_DATE_INDEX
from app.scans.models import ScanRecord, ScoredScan
from app.scans.repository_base import ScansTable


class ScanQueries(ScansTable):
    """Queries in one user's partition (never a table Scan)."""

    def get_page(
        self,
        *,
        user_id: str,
        limit: int,
        cursor: str | None,
        date_from: str | None = None,
        date_to: str | None = None,
        consistent: bool = False,
    ) -> tuple[list[ScanRecord], str | None]:
        """Newest first; with a date range, through the scan-date index."""
        values = {":uid": to_attr(user_id)}
        condition = "user_id = :uid"
        index: dict[str, Any] = {"ConsistentRead": True} if consistent else {}
        cursor_keys = {"scan_id"}
        if date_from or date_to:
            index["IndexName"] = SCAN_DATE_INDEX
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
        items = self._completed(user_id=user_id, date_from=date_from, date_to=date_to)
        return [ScanRecord.model_validate(item) for item in items]

    def completed_scores(
        self, *, user_id: str, date_from: str = "0000", date_to: str = "9999", consistent: bool = False
    ) -> list[ScoredScan]:
        """Id, date and scores of every completed, quality-passed scan in the range, oldest first.

        A projection: progress, statistics and the cycle insight use a few numbers and need
        none of the stored analysis summary (per-photo regions and measurements, ~80 % of an
        item), which DynamoDB would otherwise send and we would parse.
        """
        items = self._completed(
            user_id=user_id,
            date_from=date_from,
            date_to=date_to,
            projection="scan_id, scan_date, scores, analysis.model_version",
            consistent=consistent,
        )
        return [
            ScoredScan(
                scan_id=str(item["scan_id"]),
                scan_date=str(item["scan_date"]),
                scores={str(k): float(v) for k, v in item["scores"].items()},
                model_version=item.get("analysis", {}).get("model_version"),
            )
            for item in items
            if item.get("scores")
        ]

    def _completed(
        self,
        *,
        user_id: str,
        date_from: str = "0000",
        date_to: str = "9999",
        projection: str | None = None,
        consistent: bool = False,
    ) -> list[dict[str, Any]]:
        """Completed, quality-passed scans dated `date_from`..`date_to`, oldest first."""
        return self._query_all(
            TableName=self.table_name,
            IndexName=SCAN_DATE_INDEX,
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
            **({"ProjectionExpression": projection} if projection else {}),
            **({"ConsistentRead": True} if consistent else {}),  # a local index allows it
        )

    def latest_completed(
        self, *, user_id: str, before_scan_id: str | None = None, consistent: bool = False
    ) -> ScanRecord | None:
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
        if consistent:  # what a pointer is filled from must not miss a scan that just finished
            kwargs["ConsistentRead"] = True
        while True:
            page = self._call("query", **kwargs)
            if page.get("Items"):
                return ScanRecord.model_validate(from_item(page["Items"][0]))
            if "LastEvaluatedKey" not in page:
                return None
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def all_for_user(self, *, user_id: str) -> list[ScanRecord]:
        """Every scan of the user (export, erasure)."""
        items = self._query_all(
            TableName=self.table_name,
            KeyConditionExpression="user_id = :uid",
            ExpressionAttributeValues={":uid": to_attr(user_id)},
        )
        return [ScanRecord.model_validate(item) for item in items]
