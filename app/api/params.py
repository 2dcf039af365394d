"""Reusable `Annotated` path and query parameter types (one name and shape everywhere).

A date range's rule (`from` not after `to`) and its bounds live with the scans reads
(`app.scans.reads.date_bounds`), so a CLI or worker gets the same answer as a route.
"""

from datetime import date
from typing import Annotated

from fastapi import Header, Path, Query

from app.core.schemas import ULID_PATTERN

ScanId = Annotated[str, Path(pattern=ULID_PATTERN, description="A scan id (ULID).")]
PlanId = Annotated[str, Path(pattern=ULID_PATTERN, description="A plan id (ULID).")]
SessionId = Annotated[str, Path(pattern=ULID_PATTERN, description="A chat session id (ULID).")]
SkinLogId = Annotated[str, Path(pattern=ULID_PATTERN, description="A skin log id (ULID).")]
EntryId = Annotated[str, Path(pattern=ULID_PATTERN, description="A journal entry id (ULID).")]
PeriodId = Annotated[str, Path(pattern=ULID_PATTERN, description="A period log id (ULID).")]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size.")]
Cursor = Annotated[str | None, Query(max_length=1024, description="`next_cursor` of the previous page.")]
DateFrom = Annotated[date | None, Query(alias="from", description="Inclusive start date (YYYY-MM-DD, UTC).")]
DateTo = Annotated[date | None, Query(alias="to", description="Inclusive end date (YYYY-MM-DD, UTC).")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[A-Za-z0-9_.:-]{1,128}$",
        description="Retry-safe creation: the same key returns the same object for 24 h.",
    ),
]
