"""A lean first attempt at the hot authentication read: one strongly consistent GetItem.

Every authenticated request re-reads the user item (SECURITY.md: each request re-checks its
session). Through botocore that GetItem costs about as much client CPU as DynamoDB takes to
answer it: parameter validation, endpoint rules, a dozen event hooks, header objects built
and parsed twice. Here the request body is written directly, signed with botocore's own
SigV4 signer and the client's own credentials (frozen per request, so the instance role's
refreshing credentials keep working), and sent on a kept-alive urllib3 pool with the
client's endpoint and timeouts.

It is only a first attempt: anything but a clean 200 (connection error, timeout, 4xx/5xx,
throttling, a CRC or body that does not check out) returns None and the caller makes the
ordinary boto3 call, which keeps today's retries and error translation. After a failed
attempt the lean path stands aside for a while, so an outage costs one extra attempt per
pause, not one per request. DYNAMODB_LEAN_READS=false turns it off.
"""

import json
import logging
import threading
import time
import urllib.request
import zlib
from typing import Any
from urllib.parse import urlsplit

import botocore
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.httpsession import get_cert_path

from app.core.config import Settings
from app.db.wire import decode_body

logger = logging.getLogger("dermalens.db")

_TARGET = "DynamoDB_20120810.GetItem"
_CONTENT_TYPE = "application/x-amz-json-1.0"
_USER_AGENT = f"Botocore/{botocore.__version__} dermalens-lean-read"
# After a failed attempt, requests go straight to boto3 for this long: an outage or a
# blackholed network then costs one lean attempt per pause, not one per request.
PAUSE_AFTER_FAILURE_SECONDS = 10.0
# GetItem's whole successful output: anything else is a body we do not understand.
_OUTPUT_KEYS = frozenset({"Item", "ConsumedCapacity"})


class LeanGetItem:
    """Consistent GetItem of one key on a kept-alive pool; None means "ask boto3 instead"."""

    def __init__(
        self,
        *,
        endpoint_url: str,
        region: str,
        credentials: Credentials,
        connect_timeout: float,
        read_timeout: float,
        pool_size: int,
        events: Any = None,
        operation_model: Any = None,
    ) -> None:
        self._events = events
        self._operation_model = operation_model
        self._url = endpoint_url.rstrip("/") + "/"
        self._region = region
        self._credentials = credentials
        self._pool = _connection_pool(
            endpoint_url, connect_timeout=connect_timeout, read_timeout=read_timeout, pool_size=pool_size
        )
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def get_item(self, *, table_name: str, key: dict[str, Any]) -> dict[str, Any] | None:
        """The response as boto3 would parse it (`{}` or `{"Item": ...}`), or None: use boto3."""
        if time.monotonic() < self._paused_until:
            return None
        try:
            body = json.dumps({"TableName": table_name, "Key": key, "ConsistentRead": True}).encode()
        except TypeError:  # a binary key value: boto3 knows how to base64 it
            return None
        try:
            response = self._pool.urlopen(
                "POST",
                "/",
                body=body,
                headers=self._signed_headers(body),
                retries=False,
                redirect=False,
                assert_same_host=False,
            )
        except Exception as exc:  # noqa: BLE001 - transport, credentials refresh: boto3 reports them
            self._stand_aside(f"{type(exc).__name__}: {exc}")
            return None
        document = _checked_document(response.status, response.headers, response.data)
        if document is None:
            self._stand_aside(f"HTTP {response.status}")
        elif self._events is not None:
            # What observes the client's calls (counters, cost tallies) sees this one too.
            self._events.emit(
                "after-call.dynamodb.GetItem",
                http_response=None,
                parsed=document,
                model=self._operation_model,
                context={"lean_read": True},
            )
        return document

    def _signed_headers(self, body: bytes) -> dict[str, str]:
        # Frozen per request: a RefreshableCredentials (the instance role) refreshes here.
        frozen = self._credentials.get_frozen_credentials()
        request = AWSRequest(
            method="POST",
            url=self._url,
            data=body,
            headers={"X-Amz-Target": _TARGET, "Content-Type": _CONTENT_TYPE},
        )
        SigV4Auth(frozen, "dynamodb", self._region).add_auth(request)
        headers = {name: _text(value) for name, value in request.headers.items()}
        headers["User-Agent"] = _USER_AGENT
        return headers

    def _stand_aside(self, reason: str) -> None:
        with self._lock:
            self._paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_SECONDS
        logger.warning(
            "lean GetItem failed (%s); boto3 answers for the next %.0f s", reason, PAUSE_AFTER_FAILURE_SECONDS
        )


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _checked_document(status: int, headers: Any, data: bytes) -> dict[str, Any] | None:
    """The parsed body of a clean 200 whose CRC32 matches (as botocore checks), else None."""
    if status != 200 or not data:
        return None
    crc = headers.get("x-amz-crc32")
    if crc is not None and (not crc.isdigit() or int(crc) != zlib.crc32(data)):
        return None
    document = decode_body(data)
    if document is None or not set(document) <= _OUTPUT_KEYS:
        return None
    return document


def _connection_pool(
    endpoint_url: str, *, connect_timeout: float, read_timeout: float, pool_size: int
) -> urllib3.HTTPConnectionPool:
    parts = urlsplit(endpoint_url)
    host = parts.hostname or ""
    timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
    if parts.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            host,
            parts.port or 443,
            timeout=timeout,
            maxsize=pool_size,
            cert_reqs="CERT_REQUIRED",
            ca_certs=get_cert_path(True),  # botocore's own CA bundle choice
        )
    return urllib3.HTTPConnectionPool(host, parts.port or 80, timeout=timeout, maxsize=pool_size)


def uses_proxy(endpoint_url: str) -> bool:
    """Whether botocore would reach this endpoint through an HTTP(S)_PROXY (we would not)."""
    parts = urlsplit(endpoint_url)
    return parts.scheme in urllib.request.getproxies() and not urllib.request.proxy_bypass(
        parts.hostname or ""
    )


def build_lean_reads(
    client: Any, credentials: Credentials | None, *, settings: Settings
) -> LeanGetItem | None:
    """The lean reader for this client (same endpoint, region, credentials, timeouts), or None."""
    if not settings.dynamodb_lean_reads or credentials is None:
        return None
    endpoint_url: str = client.meta.endpoint_url
    if uses_proxy(endpoint_url):
        logger.info("DynamoDB is reached through a proxy: lean reads are off")
        return None
    return LeanGetItem(
        endpoint_url=endpoint_url,
        region=client.meta.region_name,
        credentials=credentials,
        connect_timeout=settings.aws_connect_timeout_seconds,
        read_timeout=settings.aws_read_timeout_seconds,
        pool_size=settings.aws_max_pool_connections,
        events=client.meta.events,
        operation_model=client.meta.service_model.operation_model("GetItem"),
    )
