"""The lean authentication read answers what boto3 answers, signs as botocore signs, and
steps aside for boto3 (retries, the 503 envelope) on anything but a clean 200: on both of its
transports (urllib3 for worker threads, asyncio + httptools on the event loop)."""

import asyncio
import datetime as dt
import json
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials, RefreshableCredentials
from fastapi.testclient import TestClient

from app.auth.models import UserRecord
from app.auth.repository import UsersRepository
from app.bootstrap import build_container
from app.core.config import Settings
from app.core.errors import DependencyUnavailableError
from app.db import lean_reads
from app.db.dynamodb import build_dynamodb_client, from_item
from app.db.keys import email_guard_id
from app.db.lean_reads import LeanGetItem, build_lean_reads
from app.db.local_dynamodb import free_port
from app.main import create_app
from tests.conftest import PASSWORD, make_settings, unique_email
from tests.db.test_wire import ITEM, put_sample_item
from tests.helpers import DynamoDBCalls

TABLE = "lean-read-check"
API = "/api/v1"
FROZEN_AT = dt.datetime(2026, 12, 2, 18, 0, 0)


def _lean(
    endpoint: str, credentials: Credentials | None = None, *, read_timeout: float = 2, **extra: Any
) -> LeanGetItem:
    return LeanGetItem(
        endpoint_url=endpoint,
        region="us-east-1",
        credentials=credentials or Credentials("local", "local"),
        connect_timeout=1,
        read_timeout=read_timeout,
        pool_size=4,
        **extra,
    )


TRANSPORTS = ("thread", "event loop")


def _read(lean: LeanGetItem, transport: str, table_name: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """One lean GetItem on the transport under test (a fresh event loop for the async one)."""
    if transport == "thread":
        return lean.get_item(table_name=table_name, key=key)
    return asyncio.run(lean.get_item_async(table_name=table_name, key=key))


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _plain_client(endpoint: str, credentials: Credentials | None = None, attempts: int = 3) -> Any:
    credentials = credentials or Credentials("local", "local")
    return boto3.session.Session().client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.token,
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}),
    )


@pytest.fixture(scope="module")
def plain(dynamodb_endpoint: str) -> Any:
    client = _plain_client(dynamodb_endpoint)
    put_sample_item(client, TABLE)
    return client


def test_the_lean_read_returns_exactly_the_item_boto3_returns(
    plain: Any, dynamodb_endpoint: str, transport: str
) -> None:
    key = {"pk": ITEM["pk"], "sk": ITEM["sk"]}
    expected = plain.get_item(TableName=TABLE, Key=key, ConsistentRead=True)
    answered = _read(_lean(dynamodb_endpoint), transport, TABLE, key)
    assert answered == {"Item": expected["Item"]}  # every type: S, N, B, BS, SS, NS, M, L, NULL, BOOL
    assert answered["Item"]["blob"]["B"] == b"\x00\x01binary\xff"
    assert from_item(answered["Item"]) == from_item(expected["Item"])


def test_a_missing_item_is_an_empty_answer_as_with_boto3(
    plain: Any, dynamodb_endpoint: str, transport: str
) -> None:
    key = {"pk": {"S": "nobody"}, "sk": {"S": "nothing"}}
    assert plain.get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item") is None
    assert _read(_lean(dynamodb_endpoint), transport, TABLE, key) == {}


def test_the_users_repository_reads_the_same_user_either_way(
    client: TestClient, container: Any, settings: Settings
) -> None:
    email = unique_email()
    registered = client.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD}).json()
    user_id = registered["user"]["user_id"]
    boto3_only = UsersRepository(container.dynamodb, settings.table_names["users"])
    assert container.users._lean_reads is not None, "the shared app runs with lean reads on"
    assert container.users.get(user_id=user_id) == boto3_only.get(user_id=user_id)
    assert container.users.get(user_id=user_id).email == email
    assert container.users.get(user_id="no-such-user") is None
    assert container.users.get(user_id=email_guard_id(email)) is None, "an email guard is never a user"


# ---- the signature: what botocore would send for the same request at the same time ----


class Recorder(BaseHTTPRequestHandler):
    """A stand-in endpoint: records each request, answers with the status and body it is set to."""

    protocol_version = "HTTP/1.1"  # keeps connections alive, as DynamoDB does
    requests: list[tuple[dict[str, str], bytes]] = []
    status = 200
    body = b"{}"
    crc: str | None = None
    delay = 0.0
    close_after_answer = False  # drop the connection without saying so, as an idle timeout does

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers["Content-Length"]))
        headers = {k.lower(): v for k, v in self.headers.items()}
        headers["x-client-port"] = str(self.client_address[1])  # which connection it came on
        type(self).requests.append((headers, data))
        time.sleep(self.delay)
        self.close_connection = self.close_after_answer
        self.send_response(self.status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(self.body)))
        self.send_header("x-amz-crc32", self.crc or str(zlib.crc32(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, type[Recorder]]]:
    handler = type("Recording", (Recorder,), {"requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


SIGNED = ("authorization", "x-amz-date", "x-amz-security-token", "x-amz-target", "content-type", "host")


def _signed_part(headers: dict[str, str]) -> dict[str, str | None]:
    return {name: headers.get(name) for name in SIGNED}


def test_the_signature_is_the_one_botocore_computes(
    recorder: tuple[str, type[Recorder]], monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    endpoint, handler = recorder
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda *_, **__: FROZEN_AT)
    role = Credentials("ASIAEXAMPLE", "secret/with+chars", "session-token-of-the-role")
    key = {"user_id": {"S": "01JUSER"}}
    _plain_client(endpoint, role).get_item(TableName="dermalens-users", Key=key, ConsistentRead=True)
    assert _read(_lean(endpoint, role), transport, "dermalens-users", key) == {}
    (botocore_headers, botocore_body), (lean_headers, lean_body) = handler.requests
    assert lean_body == botocore_body
    assert _signed_part(lean_headers) == _signed_part(botocore_headers)
    assert "Credential=ASIAEXAMPLE/20261202/us-east-1/dynamodb/aws4_request" in lean_headers["authorization"]
    assert "x-amz-security-token" in lean_headers["authorization"]  # the role's token is signed


def test_refreshing_credentials_are_read_afresh_for_each_request(
    recorder: tuple[str, type[Recorder]], monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, handler = recorder
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda *_, **__: FROZEN_AT)
    issued = iter(["ASIAFIRST", "ASIASECOND"])

    def refresh() -> dict[str, str]:
        # Already inside the refresh window: every read of the credentials refreshes them.
        expiry = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
        return {
            "access_key": next(issued),
            "secret_key": "s",
            "token": "t",
            "expiry_time": expiry.isoformat(),
        }

    role = RefreshableCredentials.create_from_metadata(refresh(), refresh, "test")
    lean = _lean(endpoint, role)
    key = {"user_id": {"S": "01JUSER"}}
    assert lean.get_item(table_name="dermalens-users", key=key) == {}
    assert "Credential=ASIASECOND/" in handler.requests[-1][0]["authorization"]
    _plain_client(endpoint, Credentials("ASIASECOND", "s", "t")).get_item(
        TableName="dermalens-users", Key=key, ConsistentRead=True
    )
    assert _signed_part(handler.requests[0][0]) == _signed_part(handler.requests[1][0])


# ---- anything but a clean 200: boto3 answers, as it always did ----


@pytest.mark.parametrize(
    ("status", "body", "crc"),
    [
        (
            400,
            b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"}',
            None,
        ),
        (500, b'{"__type":"com.amazon.coral.service#InternalFailure"}', None),
        (200, b'{"Item": {"user_id": {"S": "x"}}}', "12345"),  # a CRC that does not match
        (200, b"<html>a proxy's page</html>", None),
        (200, b'{"Unexpected": true}', None),
    ],
    ids=["throttled", "server-error", "bad-crc", "not-json", "odd-body"],
)
def test_anything_but_a_clean_200_is_left_to_boto3(
    recorder: tuple[str, type[Recorder]], status: int, body: bytes, crc: str | None, transport: str
) -> None:
    endpoint, handler = recorder
    handler.status, handler.body, handler.crc = status, body, crc
    lean = _lean(endpoint)
    assert _read(lean, transport, "t", {"user_id": {"S": "x"}}) is None
    assert _read(lean, transport, "t", {"user_id": {"S": "x"}}) is None
    assert len(handler.requests) == 1, "after the failure the lean read stands aside"


def test_throttling_falls_back_to_boto3_which_retries_and_answers_503(
    recorder: tuple[str, type[Recorder]],
) -> None:
    endpoint, handler = recorder
    handler.status = 400
    handler.body = b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"}'
    users = UsersRepository(
        _plain_client(endpoint, attempts=2), "dermalens-users", lean_reads=_lean(endpoint)
    )
    with pytest.raises(DependencyUnavailableError):
        users.get(user_id="01JUSER")
    assert len(handler.requests) == 3, "one lean attempt, then boto3's two attempts"


def test_after_a_failure_the_lean_read_stands_aside_then_tries_again(
    dynamodb_endpoint: str, plain: Any, monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    now = [1000.0]
    monkeypatch.setattr(lean_reads.time, "monotonic", lambda: now[0])
    dead = _lean(f"http://127.0.0.1:{free_port()}")  # nothing listens there: refused at once
    key = {"pk": ITEM["pk"], "sk": ITEM["sk"]}
    assert _read(dead, transport, TABLE, key) is None
    alive = _lean(dynamodb_endpoint)  # DynamoDB is back
    dead._pool, dead._connections = alive._pool, alive._connections
    assert _read(dead, transport, TABLE, key) is None, "still standing aside"
    now[0] += lean_reads.PAUSE_AFTER_FAILURE_SECONDS + 0.1
    expected = plain.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]
    assert _read(dead, transport, TABLE, key) == {"Item": expected}


def test_a_refused_lean_read_falls_back_to_boto3_for_the_right_answer(
    client: TestClient, container: Any, settings: Settings, transport: str
) -> None:
    """In a worker thread boto3 reads right there; on the event loop, in a worker thread."""
    registered = client.post(f"{API}/auth/register", json={"email": unique_email(), "password": PASSWORD})
    user_id = registered.json()["user"]["user_id"]
    dead = _lean(f"http://127.0.0.1:{free_port()}")
    users = UsersRepository(container.dynamodb, settings.table_names["users"], lean_reads=dead)

    def read(user_id: str) -> UserRecord | None:
        if transport == "thread":
            return users.get(user_id=user_id)
        return asyncio.run(users.get_async(user_id=user_id))

    user = read(user_id)
    assert user is not None
    assert user.user_id == user_id
    assert read("no-such-user") is None


def test_dynamodb_down_answers_the_503_envelope(settings: Settings, tmp_path: Any) -> None:
    """Both the lean attempt and boto3's are refused: the request answers as it always did."""
    with TestClient(create_app(settings)) as app:
        token = app.post(f"{API}/auth/register", json={"email": unique_email(), "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['tokens']['access_token']}"}
        container = app.app.state.container  # type: ignore[attr-defined]
        down = f"http://127.0.0.1:{free_port()}"
        dead_settings = make_settings(down, tmp_path)
        container.users._client = build_dynamodb_client(dead_settings)
        container.users._lean_reads = build_lean_reads(
            container.users._client, Credentials("local", "local"), settings=dead_settings
        )
        response = app.get(f"{API}/auth/me", headers=headers)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"


# ---- the setting ----


def _requests_sent_by_boto3(settings: Settings) -> list[str]:
    """The operations botocore itself sends while one user signs up and reads /auth/me."""
    sent: list[str] = []
    with TestClient(create_app(settings)) as app:
        token = app.post(f"{API}/auth/register", json={"email": unique_email(), "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['tokens']['access_token']}"}
        events = app.app.state.container.dynamodb.meta.events  # type: ignore[attr-defined]
        events.register(
            "before-send.dynamodb", lambda request, **_: sent.append(request.headers["X-Amz-Target"])
        )
        assert app.get(f"{API}/auth/me", headers=headers).status_code == 200
    return [target.decode().split(".")[-1] for target in sent]


def test_with_the_setting_off_the_authentication_read_goes_through_boto3(
    dynamodb_endpoint: str, tmp_path: Any
) -> None:
    off = make_settings(dynamodb_endpoint, tmp_path, dynamodb_lean_reads=False)
    assert build_container(off).users._lean_reads is None
    assert _requests_sent_by_boto3(off) == ["GetItem"]
    on = make_settings(dynamodb_endpoint, tmp_path)
    assert _requests_sent_by_boto3(on) == [], "on: the GetItem went the lean way"


def test_a_lean_read_is_seen_by_whatever_observes_the_client(client: TestClient, container: Any) -> None:
    token = client.post(f"{API}/auth/register", json={"email": unique_email(), "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['tokens']['access_token']}"}
    with DynamoDBCalls(container.dynamodb, requests_only=True) as counted:
        assert client.get(f"{API}/auth/me", headers=headers).status_code == 200
    assert counted.names == ["GetItem"]


def test_the_lean_read_sends_the_request_body_boto3_would(recorder: tuple[str, type[Recorder]]) -> None:
    endpoint, handler = recorder
    _lean(endpoint).get_item(table_name="dermalens-users", key={"user_id": {"S": "01JUSER"}})
    sent = json.loads(handler.requests[0][1])
    assert sent == {
        "TableName": "dermalens-users",
        "Key": {"user_id": {"S": "01JUSER"}},
        "ConsistentRead": True,
    }


# ---- the event-loop transport: kept-alive connections, timeouts, cancellation ----

USER_KEY = {"user_id": {"S": "01JUSER"}}


def test_on_the_event_loop_connections_are_kept_alive_and_reused(
    recorder: tuple[str, type[Recorder]],
) -> None:
    endpoint, handler = recorder
    lean = _lean(endpoint)

    async def three_reads() -> list[dict[str, Any] | None]:
        return [await lean.get_item_async(table_name="t", key=USER_KEY) for _ in range(3)]

    assert asyncio.run(three_reads()) == [{}, {}, {}]
    ports = {headers["x-client-port"] for headers, _ in handler.requests}
    assert len(ports) == 1, "the three reads shared one connection"


def test_a_connection_the_server_dropped_while_idle_is_replaced_without_standing_aside(
    recorder: tuple[str, type[Recorder]],
) -> None:
    endpoint, handler = recorder
    handler.close_after_answer = True  # every connection is gone by the next request
    lean = _lean(endpoint)

    async def reads() -> list[dict[str, Any] | None]:
        return [await lean.get_item_async(table_name="t", key=USER_KEY) for _ in range(3)]

    assert asyncio.run(reads()) == [{}, {}, {}], "each read resent on a fresh connection"
    assert len(handler.requests) == 3


def test_a_hanging_endpoint_is_left_to_boto3_after_the_read_timeout(
    recorder: tuple[str, type[Recorder]],
) -> None:
    endpoint, handler = recorder
    handler.delay = 1.5
    lean = _lean(endpoint, read_timeout=0.3)
    started = time.monotonic()
    assert asyncio.run(lean.get_item_async(table_name="t", key=USER_KEY)) is None
    assert time.monotonic() - started < 1.0, "bounded by the read timeout, not the endpoint"
    handler.delay = 0.0
    assert asyncio.run(lean.get_item_async(table_name="t", key=USER_KEY)) is None, "standing aside"
    assert len(handler.requests) == 1


def test_a_cancelled_read_never_hands_its_late_answer_to_the_next_read(
    recorder: tuple[str, type[Recorder]],
) -> None:
    """A client that disconnects cancels its request mid-read; the next read on that worker
    must get its own answer, not the cancelled one's bytes."""
    endpoint, handler = recorder
    lean = _lean(endpoint)
    first = b'{"Item": {"user_id": {"S": "first"}}}'
    second = b'{"Item": {"user_id": {"S": "second"}}}'

    async def cancel_then_read() -> dict[str, Any] | None:
        handler.body, handler.delay = first, 0.4
        read = asyncio.ensure_future(lean.get_item_async(table_name="t", key=USER_KEY))
        await asyncio.sleep(0.1)
        read.cancel()
        with pytest.raises(asyncio.CancelledError):
            await read
        handler.body, handler.delay = second, 0.0
        return await lean.get_item_async(table_name="t", key=USER_KEY)

    assert asyncio.run(cancel_then_read()) == {"Item": {"user_id": {"S": "second"}}}


def test_credentials_due_for_a_refresh_are_left_to_the_threaded_path(
    recorder: tuple[str, type[Recorder]],
) -> None:
    """Refreshing the instance role's credentials blocks on the metadata service: never on the loop."""
    endpoint, handler = recorder

    def refresh() -> dict[str, str]:
        expiry = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)  # inside the refresh window
        return {"access_key": "ASIAROLE", "secret_key": "s", "token": "t", "expiry_time": expiry.isoformat()}

    role = RefreshableCredentials.create_from_metadata(refresh(), refresh, "test")
    assert asyncio.run(_lean(endpoint, role).get_item_async(table_name="t", key=USER_KEY)) is None
    assert handler.requests == [], "nothing was sent from the event loop"


def test_authenticating_a_request_needs_no_worker_thread(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While sign-ins hold every worker thread (Argon2), `/auth/me` still answers."""
    token = client.post(f"{API}/auth/register", json={"email": unique_email(), "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['tokens']['access_token']}"}

    async def no_thread(*_: Any, **__: Any) -> Any:
        raise AssertionError("a worker thread was asked for")

    monkeypatch.setattr("anyio.to_thread.run_sync", no_thread)
    response = client.get(f"{API}/auth/me", headers=headers)
    assert response.status_code == 200
    assert response.json()["user_id"] == token["user"]["user_id"]


@pytest.mark.parametrize(
    ("endpoint", "host"),
    [
        ("http://localhost:8000", "localhost:8000"),
        ("https://dynamodb.eu-west-1.amazonaws.com", "dynamodb.eu-west-1.amazonaws.com"),
        ("https://dynamodb.eu-west-1.amazonaws.com:443", "dynamodb.eu-west-1.amazonaws.com"),
        ("http://[::1]:8000", "[::1]:8000"),
    ],
)
def test_the_event_loop_request_names_the_host_botocore_signs(endpoint: str, host: str) -> None:
    """A Host header other than the signed one is a 403 from DynamoDB (then boto3 for 10 s)."""
    request = _lean(endpoint)._connections.request_bytes(b"{}", {"X-Amz-Target": "t"})
    assert f"\r\nHost: {host}\r\n".encode() in request
    signed = AWSRequest(method="POST", url=endpoint + "/", data=b"{}")
    SigV4Auth(Credentials("a", "b"), "dynamodb", "eu-west-1").add_auth(signed)
    assert f"host:{host}\n" in SigV4Auth(Credentials("a", "b"), "dynamodb", "eu-west-1").canonical_request(
        signed
    )
