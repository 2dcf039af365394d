"""/scans and /progress: thin routes over ScanService."""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, Response, UploadFile, status

from app.api.cached import Rendered, cached_json
from app.api.deps import CurrentUser, ReadCacheDep, ScanServiceDep, SettingsDep
from app.api.links import absolute
from app.api.params import Cursor, DateFrom, DateTo, IdempotencyKey, Limit, ScanId
from app.api.responses import error_responses
from app.core.errors import PayloadTooLargeError
from app.core.vocabulary import METRICS_WITH_OVERALL, ScanAngle
from app.scans.reads import is_first_page
from app.scans.schemas import (
    ProgressRead,
    ScanCreate,
    ScanCreated,
    ScanPage,
    ScanRead,
    ScanView,
    UploadInstruction,
)

router = APIRouter(tags=["scans"])


_SCAN_ID_SLOT = "SCANIDSLOT"  # scan ids are ULIDs: no character of this can clash with one


def overlay_links(request: Request) -> Callable[[str], str]:
    """scan id → its overlay link; the route is resolved once (url_for walks every router)."""
    template = str(request.url_for("get_scan_overlay", scan_id=_SCAN_ID_SLOT))
    return lambda scan_id: template.replace(_SCAN_ID_SLOT, scan_id)


def to_read(view: ScanView, request: Request, overlay_link: Callable[[str], str] | None = None) -> ScanRead:
    """The answer with absolute links (local storage hands out app-relative ones)."""
    scan = view.read
    overlay_url = (overlay_link or overlay_links(request))(scan.scan_id) if view.has_overlay else None
    image_urls = {angle: absolute(request, url) for angle, url in scan.image_urls.items()}
    return scan.model_copy(update={"image_urls": image_urls, "overlay_url": overlay_url})


@router.post(
    "/scans",
    status_code=status.HTTP_201_CREATED,
    response_model=ScanCreated,
    responses=error_responses(401, 409, 422, 429, 503),
)
def create_scan(
    body: ScanCreate,
    user: CurrentUser,
    scans: ScanServiceDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> ScanCreated:
    """Start a scan; upload each angle as told in `uploads`, then call submit."""
    scan, targets = scans.create(user_id=user.user_id, angles=body.angles, idempotency_key=idempotency_key)
    uploads = [
        UploadInstruction(
            angle=ScanAngle(angle), **{**target.model_dump(), "url": absolute(request, target.url)}
        )
        for angle, target in targets.items()
    ]
    return ScanCreated(scan_id=scan.scan_id, status=scan.status, uploads=uploads)


@router.post(
    "/scans/upload",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ScanRead,
    responses=error_responses(401, 413, 415, 422, 429, 503),
)
def upload_scan(
    user: CurrentUser,
    scans: ScanServiceDep,
    settings: SettingsDep,
    request: Request,
    front: Annotated[UploadFile, File(description="Front photo (JPEG, PNG, WebP or HEIC).")],
    left: Annotated[UploadFile | None, File()] = None,
    right: Annotated[UploadFile | None, File()] = None,
) -> ScanRead:
    """One call: send the photos as multipart form fields; the scan comes back `queued`, or already
    `processing` when an idle worker took the photos at once. Poll `GET /scans/{scan_id}`."""
    max_bytes = settings.max_image_bytes
    files = {"front": front, "left": left, "right": right}
    images = {angle: _read_limited(f, max_bytes, angle) for angle, f in files.items() if f is not None}
    return to_read(scans.create_from_upload(user_id=user.user_id, images=images), request)


def _read_limited(upload: UploadFile, max_bytes: int, angle: str) -> bytes:
    data = upload.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PayloadTooLargeError(
            f"The {angle} photo is larger than {max_bytes} bytes.",
            code="image_too_large",
            details={"angle": angle, "max_bytes": max_bytes},
        )
    return data


@router.post(
    "/scans/{scan_id}/submit",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ScanRead,
    responses=error_responses(401, 404, 409, 422, 503),
)
def submit_scan(scan_id: ScanId, user: CurrentUser, scans: ScanServiceDep, request: Request) -> ScanRead:
    """Check the uploaded photos and queue the analysis."""
    return to_read(scans.submit(user_id=user.user_id, scan_id=scan_id), request)


@router.get("/scans", response_model=ScanPage, responses=error_responses(400, 401, 422, 503))
async def list_scans(
    user: CurrentUser,
    scans: ScanServiceDep,
    cache: ReadCacheDep,
    request: Request,
    limit: Limit = 20,
    cursor: Cursor = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> Response:
    """Newest first, optionally within a date range."""

    def render() -> Rendered:
        views, next_cursor = scans.list_page(
            user_id=user.user_id,
            limit=limit,
            cursor=cursor,
            date_from=date_from,
            date_to=date_to,
        )
        link = overlay_links(request)
        return Rendered(
            ScanPage(items=[to_read(view, request, link) for view in views], next_cursor=next_cursor)
        )

    first_page = is_first_page(cursor=cursor, date_from=date_from, date_to=date_to)
    return await cached_json(request, user=user, cache=cache, render=render, cacheable=first_page)


@router.get("/scans/{scan_id}", response_model=ScanRead, responses=error_responses(401, 404, 503))
def get_scan(scan_id: ScanId, user: CurrentUser, scans: ScanServiceDep, request: Request) -> ScanRead:
    return to_read(scans.read(user_id=user.user_id, scan_id=scan_id), request)


@router.get(
    "/scans/{scan_id}/overlay",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "Annotated photo"},
        **error_responses(401, 404, 503),
    },
)
def get_scan_overlay(scan_id: ScanId, user: CurrentUser, scans: ScanServiceDep) -> Response:
    """The front photo with the face box, regions and detected spots drawn on it.

    A JPEG at most 1600 px on its long side, drawn on the frame the local analyser analysed
    (a 12 MP photo's is 1000x750). It exists before the scan is `completed`; until then the
    answer is 404 `overlay_not_available`.
    """
    data = scans.overlay(user_id=user.user_id, scan_id=scan_id)
    return Response(content=data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"})


@router.delete(
    "/scans/{scan_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 404, 503),
)
def delete_scan(scan_id: ScanId, user: CurrentUser, scans: ScanServiceDep) -> Response:
    """Delete the scan and its photos."""
    scans.delete(user_id=user.user_id, scan_id=scan_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/scans/{scan_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ScanRead,
    responses=error_responses(401, 404, 409, 429, 503),
)
def retry_scan(scan_id: ScanId, user: CurrentUser, scans: ScanServiceDep, request: Request) -> ScanRead:
    """Queue a failed scan's analysis again."""
    return to_read(scans.retry(user_id=user.user_id, scan_id=scan_id), request)


Metric = Annotated[str | None, Query(pattern="^(" + "|".join(METRICS_WITH_OVERALL) + ")$")]


@router.get(
    "/progress", response_model=ProgressRead, tags=["progress"], responses=error_responses(401, 422, 503)
)
async def get_progress(
    user: CurrentUser,
    scans: ScanServiceDep,
    cache: ReadCacheDep,
    request: Request,
    metric: Metric = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> Response:
    """Per-metric series over completed scans that passed the quality check, with a weekly trend."""

    def render() -> Rendered:
        series = scans.progress(
            user_id=user.user_id,
            metric=metric,
            date_from=date_from,
            date_to=date_to,
        )
        return Rendered(series)

    return await cached_json(request, user=user, cache=cache, render=render)
