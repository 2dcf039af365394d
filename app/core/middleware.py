"""Pure ASGI middleware: request id + access log, security headers, body size limit."""

import logging
import re
import time
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import error_response, internal_error_response
from app.core.request_context import begin_user_scope, reset_request_id, reset_user_scope, set_request_id
from app.core.security import new_id

access_logger = logging.getLogger("dermalens.access")
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Paths that carry a long-lived bearer link (a shared consultation report): the token is
# left out of the access log, which is kept longer and read by more people than the link's holder.
_BEARER_LINK_PATH = re.compile(r"^(/api/v1/consultations/reports/)[^/]+")


def loggable_path(path: str) -> str:
    """The path as the access log shows it (bearer-link tokens redacted)."""
    return _BEARER_LINK_PATH.sub(r"\1<redacted>", path)


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")


def route_template(scope: Scope) -> str | None:
    """The matched route's template (`/api/v1/scans/{scan_id}`), which the router leaves on the
    scope; None when nothing matched (a 404 for an unknown path)."""
    context = scope.get("fastapi", {}).get("effective_route_context")
    if context is not None and getattr(context, "path_format", None):
        return str(context.path_format)  # FastAPI's nested routers: the full path
    route = scope.get("route")
    return getattr(route, "path", None)


class RequestContextMiddleware:
    """Gives every request an X-Request-ID (the client's if well-formed), logs one line per request."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else new_id()
        token = set_request_id(request_id)
        user_scope = begin_user_scope()
        started = time.perf_counter()
        status_holder: dict[str, Any] = {"status": 500}
        path = scope.get("path", "")
        logged_path = loggable_path(path)
        is_docs = "/docs" in path or "/redoc" in path

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.extend(SECURITY_HEADERS)
                if not is_docs:
                    headers.append(API_CSP)
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            # Answer here rather than in Starlette's outermost error middleware, so the 500
            # carries the request id and security headers and is logged under that id.
            if "started" in status_holder:
                raise
            await internal_error_response(exc)(scope, receive, send_with_headers)
        finally:
            access_logger.info(
                "%s %s %s",
                scope.get("method"),
                logged_path,
                status_holder["status"],
                extra={
                    "method": scope.get("method"),
                    "path": logged_path,
                    "route": route_template(scope),
                    "status": status_holder["status"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            reset_user_scope(user_scope)
            reset_request_id(token)


class BodySizeLimitMiddleware:
    """Refuses bodies over the limit with 413 before the app reads them into memory."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_json_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_bytes = max_json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        limit = self.max_json_bytes if "json" in content_type else self.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        received = 0
        refused = False

        async def limited_receive() -> Message:
            # The 413 is sent from here: frameworks catch any error raised while they read the
            # body and answer 400, so raising would lose the real reason.
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await _too_large(limit)(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def send_unless_refused(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, limited_receive, send_unless_refused)


def _too_large(limit: int) -> JSONResponse:
    return error_response(
        413, "payload_too_large", f"The request body is larger than {limit} bytes.", {"max_bytes": limit}
    )


ALLOWED_BODY_TYPES = ("application/json", "multipart/form-data", "application/x-www-form-urlencoded")


class ContentTypeMiddleware:
    """A request body must say what it is: JSON, a form, or (signed storage uploads) an image."""

    def __init__(self, app: ASGIApp, *, storage_prefix: str) -> None:
        self.app = app
        self.storage_prefix = storage_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in {"POST", "PUT", "PATCH"}:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
        has_body = headers.get(b"content-length", b"0") not in (b"0", b"") or b"transfer-encoding" in headers
        allowed: tuple[str, ...] = ALLOWED_BODY_TYPES
        if scope.get("path", "").startswith(self.storage_prefix):
            allowed = ("image/",)
        if has_body and not any(content_type.startswith(t) for t in allowed):
            response = error_response(
                415,
                "unsupported_media_type",
                f"Content-Type {content_type or '(none)'} is not accepted here.",
                {"accepted": list(allowed)},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
