"""Scans table, read for the insight: only the date and scores of completed, quality-passed scans.

A projection, so a user with hundreds of scans does not pull every stored analysis summary
(per-photo regions and measurements) just to average a few numbers.
"""

from app.db.dynamodb import to_attr
from app.db.keys import SCAN_DATE_INDEX
from app.db.repository import Repository


class ScanScoresRepository(Repository):
    def scores(self, *, user_id: str) -> list[tuple[str, dict[str, float]]]:
        """(scan_date, scores) of every completed, quality-passed scan, oldest first."""
        items = self._query_all(
            IndexName=SCAN_DATE_INDEX,
            KeyConditionExpression="user_id = :uid",
            FilterExpression="#status = :completed AND passed_quality = :true",
            ProjectionExpression="scan_date, scores",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":uid": to_attr(user_id),
                ":completed": to_attr("completed"),
                ":true": to_attr(True),
            },
        )
        return [
            (str(item["scan_date"]), {str(k): float(v) for k, v in (item.get("scores") or {}).items()})
            for item in items
        ]
