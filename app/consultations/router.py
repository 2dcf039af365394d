"""/consultations: thin routes over ConsultationService (the report link needs no sign-in)."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from app.api.deps import ConsultationServiceDep, CurrentUser, SettingsDep
from app.api.params import Cursor, Limit
from app.api.responses import error_responses
from app.consultations.directory import SPECIALTIES, DirectoryFilter
from app.consultations.models import ConsultationRecord
from app.consultations.schemas import (
    ConsultationCreate,
    ConsultationPage,
    ConsultationRate,
    ConsultationRead,
    DermatologistPage,
    DermatologistRead,
    DermatologistRef,
    RatingRead,
    ReportRead,
)
from app.consultations.service import ConsultationService
from app.core.config import Settings
from app.core.schemas import ULID_PATTERN
from app.core.security import utc_now

router = APIRouter(prefix="/consultations", tags=["consultations"])

ConsultationId = Annotated[str, Path(pattern=ULID_PATTERN, description="A consultation id (ULID).")]
Specialty = Annotated[str | None, Query(pattern="^(" + "|".join(SPECIALTIES) + ")$")]
LanguageCode = Annotated[
    str | None, Query(pattern=r"^[A-Za-z]{2,3}$", description="ISO 639 code, e.g. `en`.")
]
City = Annotated[str | None, Query(min_length=1, max_length=100, description="Case and accents ignored.")]


def base_url(request: Request, settings: Settings) -> str:
    """Where the dermatologist's link points: PUBLIC_BASE_URL, else the address this request came to."""
    return settings.public_base_url or str(request.base_url)


def to_read(record: ConsultationRecord, service: ConsultationService, link_base: str) -> ConsultationRead:
    data = record.model_dump(mode="json")
    return ConsultationRead(
        **{k: data[k] for k in ConsultationRead.model_fields if k in data and k not in {"rating", "report"}},
        dermatologist=DermatologistRef(id=record.dermatologist_id, name=record.dermatologist_name),
        report=ReportRead(
            url=service.report_url(record, base_url=link_base),
            link_state=record.link_state(utc_now()),
            expires_at=data["report_expires_at"],
            pages=record.report_pages,
            bytes=record.report_bytes,
        ),
        rating=RatingRead(**data["rating"]) if data.get("rating") else None,
    )


@router.get(
    "/dermatologists", response_model=DermatologistPage, responses=error_responses(400, 401, 422, 503)
)
def list_dermatologists(
    _user: CurrentUser,  # signed-in users only
    consultations: ConsultationServiceDep,
    specialty: Specialty = None,
    language: LanguageCode = None,
    city: City = None,
    teleconsultation: bool | None = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> DermatologistPage:
    """The directory, filtered by specialty, language, city and teleconsultation, in name order."""
    where = DirectoryFilter(
        specialty=specialty, language=language, city=city, teleconsultation=teleconsultation
    )
    items, next_cursor = consultations.dermatologists(where=where, limit=limit, cursor=cursor)
    return DermatologistPage(
        items=[DermatologistRead.model_validate(e.model_dump(mode="json")) for e in items],
        next_cursor=next_cursor,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ConsultationRead,
    responses=error_responses(401, 404, 409, 422, 429, 503),
)
def create_consultation(
    body: ConsultationCreate,
    user: CurrentUser,
    consultations: ConsultationServiceDep,
    settings: SettingsDep,
    request: Request,
) -> ConsultationRead:
    """Request a consultation: the report PDF is made and its link mailed to the dermatologist."""
    link_base = base_url(request, settings)
    record = consultations.create(
        user=user,
        dermatologist_id=body.dermatologist_id,
        reason=body.reason,
        scan_ids=body.scan_ids,
        base_url=link_base,
    )
    return to_read(record, consultations, link_base)


@router.get("", response_model=ConsultationPage, responses=error_responses(400, 401, 422, 503))
def list_consultations(
    user: CurrentUser,
    consultations: ConsultationServiceDep,
    settings: SettingsDep,
    request: Request,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> ConsultationPage:
    """Your consultation requests, newest first."""
    items, next_cursor = consultations.get_page(user_id=user.user_id, limit=limit, cursor=cursor)
    link_base = base_url(request, settings)
    return ConsultationPage(
        items=[to_read(r, consultations, link_base) for r in items], next_cursor=next_cursor
    )


@router.get(
    "/reports/{token}",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **error_responses(403, 404, 410, 503)},
)
def open_report(
    token: Annotated[str, Path(min_length=20, max_length=2048)], consultations: ConsultationServiceDep
) -> Response:
    """The shared report, for the dermatologist: no sign-in; 410 once expired or withdrawn."""
    report = consultations.open_report(token=token)
    return Response(
        content=report.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{report.filename}"',
            # Health data behind a bearer link: never cached, indexed or leaked through Referer.
            "Cache-Control": "no-store",
            "X-Robots-Tag": "noindex, nofollow",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.get(
    "/{consultation_id}", response_model=ConsultationRead, responses=error_responses(401, 404, 422, 503)
)
def get_consultation(
    consultation_id: ConsultationId,
    user: CurrentUser,
    consultations: ConsultationServiceDep,
    settings: SettingsDep,
    request: Request,
) -> ConsultationRead:
    record = consultations.get(user_id=user.user_id, consultation_id=consultation_id)
    return to_read(record, consultations, base_url(request, settings))


@router.post(
    "/{consultation_id}/cancel", response_model=ConsultationRead, responses=error_responses(401, 404, 503)
)
def cancel_consultation(
    consultation_id: ConsultationId,
    user: CurrentUser,
    consultations: ConsultationServiceDep,
    settings: SettingsDep,
    request: Request,
) -> ConsultationRead:
    """Withdraw the request: the report link stops working and the PDF is deleted."""
    record = consultations.cancel(user_id=user.user_id, consultation_id=consultation_id)
    return to_read(record, consultations, base_url(request, settings))


@router.post(
    "/{consultation_id}/send", response_model=ConsultationRead, responses=error_responses(401, 404, 409, 503)
)
def send_consultation(
    consultation_id: ConsultationId,
    user: CurrentUser,
    consultations: ConsultationServiceDep,
    settings: SettingsDep,
    request: Request,
) -> ConsultationRead:
    """Try the mail to the dermatologist again for a request still `pending`."""
    link_base = base_url(request, settings)
    record = consultations.send(user=user, consultation_id=consultation_id, base_url=link_base)
    return to_read(record, consultations, link_base)


@router.post(
    "/{consultation_id}/rate",
    response_model=ConsultationRead,
    responses=error_responses(401, 404, 409, 422, 503),
)
def rate_consultation(
    consultation_id: ConsultationId,
    body: ConsultationRate,
    user: CurrentUser,
    consultations: ConsultationServiceDep,
    settings: SettingsDep,
    request: Request,
) -> ConsultationRead:
    """Rate 1-5 with an optional comment: once, and only after the request was sent."""
    record = consultations.rate(
        user_id=user.user_id, consultation_id=consultation_id, rating=body.rating, comment=body.comment
    )
    return to_read(record, consultations, base_url(request, settings))
