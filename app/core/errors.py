"""Domain errors and the one JSON error envelope every response uses.

Services raise `DomainError` subclasses; `install_error_handlers` maps them (and framework
errors) to `{"error": {"code", "message", "details"?}}` with the right status.
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.request_context import current_request_id

logger = logging.getLogger("dermalens.errors")


class DomainError(Exception):
    """Base for every error a client can be told about."""

    status_code = 400
    code = "bad_request"
    message = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.details = details
        self.headers = headers
        super().__init__(self.message)


class BadRequestError(DomainError):
    status_code = 400
    code = "bad_request"


class AuthenticationError(DomainError):
    status_code = 401
    code = "not_authenticated"
    message = "Missing or invalid credentials."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kwargs)


class AccountGoneError(AuthenticationError):
    """The account was deleted (or is being deleted) after the request was authenticated."""

    code = "account_deleted"
    message = "This account no longer exists."


class ForbiddenError(DomainError):
    status_code = 403
    code = "forbidden"
    message = "You may not do that."


class NotFoundError(DomainError):
    status_code = 404
    code = "not_found"
    message = "Not found."


class ConflictError(DomainError):
    status_code = 409
    code = "conflict"
    message = "The request conflicts with the current state."


class PayloadTooLargeError(DomainError):
    status_code = 413
    code = "payload_too_large"
    message = "The request body is too large."


class UnsupportedMediaTypeError(DomainError):
    status_code = 415
    code = "unsupported_media_type"
    message = "Unsupported content type."


class UnprocessableError(DomainError):
    status_code = 422
    code = "validation_error"
    message = "The request is not valid."


class RateLimitedError(DomainError):
    status_code = 429
    code = "rate_limited"
    message = "Too many requests; slow down."

    def __init__(self, message: str | None = None, *, retry_after: int, **kwargs: Any) -> None:
        retry_after = max(1, int(retry_after))
        kwargs.setdefault("headers", {"Retry-After": str(retry_after)})
        details = kwargs.pop("details", None) or {}
        super().__init__(message, details={**details, "retry_after": retry_after}, **kwargs)


class DependencyUnavailableError(DomainError):
    status_code = 503
    code = "service_unavailable"
    message = "A service we depend on is unavailable; try again shortly."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": "5"})
        super().__init__(message, **kwargs)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The envelope; `details` is left out when there are none."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status_code, headers=headers)


HTTP_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    # The raw input is left out on purpose: it may hold a password.
    return [
        {
            "field": ".".join(str(part) for part in err.get("loc", ())),
            "message": err.get("msg", "invalid"),
            "type": err.get("type", "invalid"),
        }
        for err in exc.errors()
    ]


async def _on_domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    if exc.status_code >= 500:
        # The cause (e.g. EndpointConnectionError, ReadTimeoutError, a DynamoDB error code) is
        # what an operator needs; the client only sees the message.
        logger.warning("dependency unavailable: %s (%s)", exc.message, _describe_cause(exc.__cause__))
    return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


def _describe_cause(cause: BaseException | None) -> str:
    """The exception type, plus the error code an AWS service answered with, if any."""
    if cause is None:
        return "no cause"
    response = getattr(cause, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return f"{type(cause).__name__}: {code}" if code else type(cause).__name__


async def _on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = _validation_details(exc)
    if any(d["type"] == "json_invalid" for d in details):
        return error_response(400, "malformed_json", "The request body is not valid JSON.", details)
    return error_response(422, "validation_error", "The request is not valid.", details)


async def _on_http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_STATUS_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "HTTP error."
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


def internal_error_response(exc: BaseException) -> JSONResponse:
    """The one 500 answer: logged with its traceback, shown to the client without it."""
    request_id = current_request_id()
    logger.error("unhandled error (request_id=%s)", request_id, exc_info=exc)
    return error_response(
        500,
        "internal_error",
        "Something went wrong on our side. Quote the request id if you contact support.",
        {"request_id": request_id},
    )


async def _on_unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    return internal_error_response(exc)


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure through the one envelope."""
    app.add_exception_handler(DomainError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected_error)
