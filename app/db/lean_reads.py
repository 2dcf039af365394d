"""A lean first attempt at the hot authentication read: one strongly consistent GetItem.

Every authenticated request re-reads the user item (SECURITY.md: each request re-checks its
session). Through botocore that GetItem costs about as much client CPU as DynamoDB takes to
answer it: parameter validation, endpoint rules, a dozen event hooks, header objects built
and parsed twice. Here the request body is written directly, signed with botocore's own
SigV4 signer and the client's own credentials (frozen per request, so the instance role's
refreshing credentials keep working), and sent on a kept-alive urllib3 pool with the
client's endpoint and timeouts.

Two transports share the signing and the checks. `get_item` (urllib3) serves worker threads;
`get_item_async` serves the event loop, so the authentication of every request no longer hops
to the thread pool: the signed request is written on a kept-alive asyncio connection and the
answer is framed by httptools (the HTTP parser uvicorn runs on), about half the wall time and a
third of the client CPU of the threaded call (docs/BENCHMARKS.md, "The authentication read on
the event loop, session 9").

It is only a first attempt: anything but a clean 200 (connection error, timeout, 4xx/5xx,
throttling, a CRC or body that does not check out) returns None and the caller makes the
ordinary boto3 call, which keeps today's retries and error translation. After a failed
attempt the lean path stands aside for a while, so an outage costs one extra attempt per
pause, not one per request. DYNAMODB_LEAN_READS=false turns it off.
"""

import asyncio
import json
import logging
import ssl
import threading
import time
import urllib.request
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import botocore
import httptools
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
        self._connections = _LoopConnections(
            endpoint_url, connect_timeout=connect_timeout, pool_size=pool_size
        )
        self._read_timeout = read_timeout
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def get_item(self, *, table_name: str, key: dict[str, Any]) -> dict[str, Any] | None:
        """The response as boto3 would parse it (`{}` or `{"Item": ...}`), or None: use boto3."""
        body = self._request_body(table_name, key)
        if body is None:
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
        return self._accepted(response.status, response.headers, response.data)

    async def get_item_async(self, *, table_name: str, key: dict[str, Any]) -> dict[str, Any] | None:
        """`get_item` on the running event loop, without a worker thread; None: use boto3."""
        if self._credentials_need_refresh():
            return None  # refreshing blocks (the instance metadata service): boto3, in a thread
        body = self._request_body(table_name, key)
        if body is None:
            return None
        request = self._connections.request_bytes(body, self._signed_headers(body))
        try:
            answer = await self._connections.exchange(request, read_timeout=self._read_timeout)
        except (OSError, TimeoutError, EOFError, httptools.HttpParserError) as exc:
            self._stand_aside(f"{type(exc).__name__}: {exc}")
            return None
        return self._accepted(answer.status, answer.headers, bytes(answer.body))

    def _request_body(self, table_name: str, key: dict[str, Any]) -> bytes | None:
        """The GetItem body, or None while standing aside or for a key only boto3 can encode."""
        if time.monotonic() < self._paused_until:
            return None
        try:
            return json.dumps({"TableName": table_name, "Key": key, "ConsistentRead": True}).encode()
        except TypeError:  # a binary key value: boto3 knows how to base64 it
            return None

    def _accepted(self, status: int, headers: Any, data: bytes) -> dict[str, Any] | None:
        document = _checked_document(status, headers, data)
        if document is None:
            self._stand_aside(f"HTTP {status}")
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

    def _credentials_need_refresh(self) -> bool:
        refresh_needed = getattr(self._credentials, "refresh_needed", None)
        return bool(refresh_needed and refresh_needed())

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


@dataclass
class _Answer:
    """One HTTP response as httptools frames it."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)
    complete: bool = False
    keep_alive: bool = False
    parser: Any = None  # set right after the parser is made with this as its callbacks

    # httptools' callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, chunk: bytes) -> None:
        self.body += chunk

    def on_message_complete(self) -> None:
        # Read here: the parser forgets the message (and its Connection header) once it ends.
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()
        self.complete = True


_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class _LoopConnections:
    """Kept-alive HTTP/1.1 connections to one endpoint, owned by one event loop.

    A uvicorn worker has one loop for its life; a test client may start several in turn, so
    connections opened on an earlier loop are dropped rather than used across loops.
    """

    def __init__(self, endpoint_url: str, *, connect_timeout: float, pool_size: int) -> None:
        parts = urlsplit(endpoint_url)
        self._host = parts.hostname or ""
        default_port = 443 if parts.scheme == "https" else 80
        self._port = parts.port or default_port
        # The Host header botocore signs: the port only when it is not the scheme's default.
        name = f"[{self._host}]" if ":" in self._host else self._host  # an IPv6 literal
        self._host_header = name if self._port == default_port else f"{name}:{self._port}"
        self._ssl = (
            ssl.create_default_context(cafile=get_cert_path(True)) if parts.scheme == "https" else None
        )
        self._connect_timeout = connect_timeout
        self._pool_size = pool_size
        self._idle: list[_Connection] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def request_bytes(self, body: bytes, headers: dict[str, str]) -> bytes:
        lines = [f"POST / HTTP/1.1\r\nHost: {self._host_header}\r\nContent-Length: {len(body)}\r\n"]
        lines.extend(f"{name}: {value}\r\n" for name, value in headers.items())
        return "".join(lines).encode("latin-1") + b"\r\n" + body

    async def exchange(self, request: bytes, *, read_timeout: float) -> _Answer:
        """Send the request and read its answer: on an idle connection if one is kept (again on
        a fresh one if the server had closed it meanwhile), else on a new one."""
        connection = self._take_idle()
        if connection is not None:
            try:
                return await self._round_trip(connection, request, read_timeout)
            except (ConnectionError, EOFError):
                pass  # closed while idle (DynamoDB drops idle connections): GetItem is safe to resend
        connection = await asyncio.wait_for(
            asyncio.open_connection(self._host, self._port, ssl=self._ssl), self._connect_timeout
        )
        return await self._round_trip(connection, request, read_timeout)

    async def _round_trip(self, connection: _Connection, request: bytes, read_timeout: float) -> _Answer:
        reader, writer = connection
        answer = _Answer()
        parser = answer.parser = httptools.HttpResponseParser(answer)
        kept = False
        try:
            async with asyncio.timeout(read_timeout):
                writer.write(request)
                while not answer.complete:
                    chunk = await reader.read(65536)
                    if not chunk:
                        raise EOFError("the connection closed before the answer was complete")
                    parser.feed_data(chunk)
            kept = answer.keep_alive and len(self._idle) < self._pool_size
        finally:
            # A cancelled or failed exchange leaves the stream mid-message: never reuse it.
            if kept:
                self._idle.append(connection)
            else:
                writer.close()
        return answer

    def _take_idle(self) -> _Connection | None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._idle, self._loop = [], loop  # those belonged to a loop that is gone
        return self._idle.pop() if self._idle else None


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
