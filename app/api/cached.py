"""Rendered JSON answers of the hot reads, reused while the user's data version holds.

`GET /scans` (first page), `/progress` and `/plans/active` are what the app opens on every
launch. Their rendered bytes are kept in the read cache (app/core/read_cache.py) under the
user's `data_version`, so a repeat skips the DynamoDB query, building the response models,
validating them and encoding JSON, and runs in the event loop without a thread hop. The user
item, read by the authentication on every request, is what decides whether an answer may be
reused; the services read what is kept consistently, so it is never older than that version.

An answer depends on more than the data: the links in it are built from the request's base
URL, and a plan's lock state and "today" from the clock and the user's time zone. The key
holds the first two; a renderer that depends on the clock says until when its answer holds.
"""

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from app.auth.models import UserRecord
from app.core.read_cache import ReadCache


@dataclass(frozen=True)
class Rendered:
    """A response model and, when the clock changes it, how many seconds it stays true."""

    model: BaseModel
    valid_for_seconds: float | None = None


def _key(request: Request, user: UserRecord) -> tuple[str, ...]:
    url = request.url
    return ("http", user.user_id, url.path, url.query, str(request.base_url), user.timezone or "")


async def cached_json(
    request: Request,
    *,
    user: UserRecord,
    cache: ReadCache,
    render: Callable[[], Rendered],
    cacheable: bool = True,
) -> Response:
    """The JSON answer `render` gives (run in the thread pool), or its copy kept under this
    user's data version. `cacheable` False (a read the cache cannot vouch for) always renders."""
    key = _key(request, user)
    if cacheable:
        body = cache.get(key, version=user.data_version)
        if body is not None:
            return Response(content=body, media_type="application/json")
    rendered = await run_in_threadpool(render)
    body = rendered.model.model_dump_json(by_alias=True).encode()
    if cacheable:
        cache.put(key, version=user.data_version, value=body, max_seconds=rendered.valid_for_seconds)
    return Response(content=body, media_type="application/json")
