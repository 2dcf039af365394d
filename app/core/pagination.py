"""The one cursor format of the API: a small JSON object, base64url-encoded, opaque to clients."""

import base64
import binascii
import json
from typing import Any

from app.core.errors import BadRequestError


def pack_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unpack_cursor(cursor: str, *, keys: set[str]) -> dict[str, Any]:
    """The position a cursor holds; 400 `invalid_cursor` unless it has exactly `keys`."""
    try:
        position = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadRequestError("The cursor is not valid.", code="invalid_cursor") from exc
    if not isinstance(position, dict) or set(position) != keys:
        raise BadRequestError("The cursor is not valid.", code="invalid_cursor")
    return position
