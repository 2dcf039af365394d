"""/storage/{token}: the local backend's signed upload (PUT) and download (GET) URLs."""

from fastapi import APIRouter, Request, Response, status
from starlette.concurrency import run_in_threadpool

from app.api.deps import ContainerDep, ScanServiceDep
from app.core.errors import NotFoundError, PayloadTooLargeError
from app.providers.storage.local import LocalImageStorage

router = APIRouter(prefix="/storage", tags=["storage"], include_in_schema=False)


def _local(container: ContainerDep) -> LocalImageStorage:
    storage = container.storage
    if not isinstance(storage, LocalImageStorage):
        raise NotFoundError()
    return storage


@router.put("/{token}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def upload(token: str, request: Request, container: ContainerDep, scans: ScanServiceDep) -> Response:
    """Accepted only into a scan still awaiting its photos (404 once it or its account is gone)."""
    storage = _local(container)
    claims = storage.verify(token, op="put")
    limit = container.settings.max_image_bytes
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLargeError(f"The file is larger than {limit} bytes.", code="image_too_large")
    content_type = request.headers.get("content-type", "")
    data = bytes(body)
    await run_in_threadpool(
        scans.accept_upload,
        key=str(claims["key"]),
        store=lambda: storage.accept_upload(token=token, data=data, content_type=content_type),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{token}")
def download(token: str, container: ContainerDep) -> Response:
    storage = _local(container)
    claims = storage.verify(token, op="get")
    data = storage.get(key=claims["key"])
    if data is None:
        raise NotFoundError("The file no longer exists.")
    return Response(content=data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=60"})
