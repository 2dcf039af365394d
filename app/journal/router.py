"""/journal: thin routes over JournalService."""

from fastapi import APIRouter, Response, status

from app.api.deps import CurrentUser, JournalServiceDep
from app.api.params import Cursor, DateFrom, DateTo, EntryId, Limit
from app.api.responses import error_responses
from app.journal.schemas import JournalEntryCreate, JournalEntryRead, JournalEntryUpdate, JournalPage
from app.journal.service import JournalEntry

router = APIRouter(prefix="/journal", tags=["journal"])


def to_read(entry: JournalEntry) -> JournalEntryRead:
    position = entry.position
    return JournalEntryRead(
        **entry.record.model_dump(mode="json", exclude={"user_id"}),
        cycle_day=position.cycle_day if position else None,
        cycle_phase=position.phase if position else None,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=JournalEntryRead,
    responses=error_responses(401, 422, 503),
)
def create_entry(body: JournalEntryCreate, user: CurrentUser, journal: JournalServiceDep) -> JournalEntryRead:
    """A new entry; cycle day and phase are filled in when your period logs cover its date."""
    return to_read(journal.create(user_id=user.user_id, timezone=user.timezone, fields=body.model_dump()))


@router.get("", response_model=JournalPage, responses=error_responses(400, 401, 422, 503))
def list_entries(
    user: CurrentUser,
    journal: JournalServiceDep,
    limit: Limit = 20,
    cursor: Cursor = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> JournalPage:
    """Newest first, optionally within an inclusive date range."""
    items, next_cursor = journal.get_page(
        user_id=user.user_id, limit=limit, cursor=cursor, date_from=date_from, date_to=date_to
    )
    return JournalPage(items=[to_read(e) for e in items], next_cursor=next_cursor)


@router.get("/{entry_id}", response_model=JournalEntryRead, responses=error_responses(401, 404, 422, 503))
def get_entry(entry_id: EntryId, user: CurrentUser, journal: JournalServiceDep) -> JournalEntryRead:
    return to_read(journal.get(user_id=user.user_id, entry_id=entry_id))


@router.patch("/{entry_id}", response_model=JournalEntryRead, responses=error_responses(401, 404, 422, 503))
def update_entry(
    entry_id: EntryId, body: JournalEntryUpdate, user: CurrentUser, journal: JournalServiceDep
) -> JournalEntryRead:
    """Only the fields sent change."""
    fields = body.model_dump(include=body.model_fields_set)
    return to_read(
        journal.update(user_id=user.user_id, timezone=user.timezone, entry_id=entry_id, fields=fields)
    )


@router.delete(
    "/{entry_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401, 404, 422, 503)
)
def delete_entry(entry_id: EntryId, user: CurrentUser, journal: JournalServiceDep) -> Response:
    journal.delete(user_id=user.user_id, entry_id=entry_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
