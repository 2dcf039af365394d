"""The current request id, visible to logs and error handlers without passing it around."""

from contextvars import ContextVar

_request_id: ContextVar[str] = ContextVar("request_id", default="-")


def current_request_id() -> str:
    return _request_id.get()


def set_request_id(request_id: str) -> object:
    """Set the id for this context; returns a token for `reset_request_id`."""
    return _request_id.set(request_id)


def reset_request_id(token: object) -> None:
    _request_id.reset(token)  # type: ignore[arg-type]


# Who the request is from. A holder (not the id itself) is set per request, because sync
# dependencies run in a thread with a *copy* of the context: writing into the shared holder
# is visible to the access log line written back on the event loop.
_user_holder: ContextVar[dict[str, str] | None] = ContextVar("user_holder", default=None)


def begin_user_scope() -> object:
    """Give this request an empty user holder; returns a token for `reset_user_scope`."""
    return _user_holder.set({})


def reset_user_scope(token: object) -> None:
    _user_holder.reset(token)  # type: ignore[arg-type]


def set_user_id(user_id: str) -> None:
    """Record the authenticated user of the current request (no-op outside a request)."""
    holder = _user_holder.get()
    if holder is not None:
        holder["user_id"] = user_id


def current_user_id() -> str:
    """The authenticated user of the current request, or "" (not signed in, or no request)."""
    holder = _user_holder.get()
    return holder.get("user_id", "") if holder else ""
