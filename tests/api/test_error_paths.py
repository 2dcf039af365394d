"""Error paths a client can hit with its own input: cursors, oversized bodies, slugs, a 500, probes."""

import base64
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from app.api.readiness import TableCheckCache
from app.main import create_app


def _cursor(position: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


TAMPERED_CURSORS = [
    "not-a-cursor!!",
    "%%%",
    base64.urlsafe_b64encode(b"\xff\xfe\x00garbage").decode(),
    _cursor([1, 2, 3]),
    _cursor({"scan_id": 5}),
    _cursor({"scan_id": "x" * 300}),
    _cursor({"message_id": {"S": "01H"}, "session_key": "a"}),
    _cursor({"message_id": "01H", "session_key": ["a"]}),
    _cursor({"user_id": "someone-else", "scan_id": "01H"}),
    _cursor({"message_id": "01H", "session_key": "a", "user_id": "someone-else"}),
    "A" * 400,
    # Well-formed keys that fall outside the query's key condition (DynamoDB rejects them).
    _cursor({"message_id": "01M8SP7R9RR4JQRSFNP91XR2M6", "session_key": "Z#elsewhere"}),
    _cursor({"message_id": "S#01M8SP7R9RR4JQRSFNP91XR2M6", "session_key": "M#01M8SP7R9RR4JQRSFNP91XR2M7#x"}),
    _cursor({"scan_id": "01M8SP7R9RR4JQRSFNP91XR2M6", "scan_date": "1999-01-01T00:00:00Z"}),
]


@pytest.mark.parametrize("cursor", TAMPERED_CURSORS)
@pytest.mark.parametrize(
    "path", ["/api/v1/chat/sessions", "/api/v1/scans", "/api/v1/chat/sessions/{session}/messages"]
)
def test_a_tampered_cursor_is_a_400(client: TestClient, user: dict, path: str, cursor: str) -> None:
    sent = client.post("/api/v1/chat/messages", headers=user["headers"], json={"content": "hello"})
    assert sent.status_code in (200, 201), sent.text
    session = sent.json()["session_id"]
    for params in ({"cursor": cursor}, {"cursor": cursor, "from": "2026-01-01", "to": "2026-12-31"}):
        response = client.get(path.format(session=session), headers=user["headers"], params=params)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "invalid_cursor"


def test_a_cursor_never_reaches_another_users_partition(client: TestClient, register) -> None:
    owner, intruder = register(), register()
    for _ in range(3):
        client.post("/api/v1/chat/messages", headers=owner["headers"], json={"content": "hi"})
    page = client.get("/api/v1/chat/sessions", headers=owner["headers"], params={"limit": 1})
    cursor = page.json()["next_cursor"]
    assert cursor
    stolen = client.get("/api/v1/chat/sessions", headers=intruder["headers"], params={"cursor": cursor})
    assert stolen.status_code in (200, 400)
    if stolen.status_code == 200:
        assert stolen.json()["items"] == []


def _boom_app(settings) -> TestClient:
    app = create_app(settings)
    router = APIRouter()

    @router.get("/api/v1/_test/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    app.include_router(router)
    return TestClient(app, raise_server_exceptions=False)


def test_a_500_still_carries_the_request_id_and_security_headers(settings, capsys) -> None:
    with _boom_app(settings) as client:
        response = client.get("/api/v1/_test/boom", headers={"X-Request-ID": "support-quote-1"})
    assert response.status_code == 500
    body = response.json()
    assert body["error"]["code"] == "internal_error"
    assert "Traceback" not in response.text
    assert "a bug" not in response.text
    assert response.headers["x-request-id"] == "support-quote-1"
    assert body["error"]["details"]["request_id"] == "support-quote-1"
    assert response.headers["x-content-type-options"] == "nosniff"
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "dermalens.access"]
    assert access[-1]["status"] == 500
    assert access[-1]["request_id"] == "support-quote-1"
    errors = [line for line in lines if line["msg"].startswith("unhandled error")]
    assert errors
    assert errors[-1]["request_id"] == "support-quote-1"
    assert "a bug" in errors[-1]["exc"]


def test_a_chunked_body_over_the_limit_is_a_413(client: TestClient, user: dict, settings) -> None:
    limit = settings.max_json_body_bytes

    def chunks():
        piece = b'{"content": "' + b"a" * 65536
        yield piece
        for _ in range(limit // 65536 + 2):
            yield b"a" * 65536
        yield b'"}'

    response = client.post(
        "/api/v1/chat/messages",
        headers={**user["headers"], "Content-Type": "application/json"},
        content=chunks(),
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_chunked_multipart_upload_over_the_limit_is_a_413(client: TestClient, user: dict, settings) -> None:
    boundary = "dermalensboundary"

    def chunks():
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="front"; filename="a.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        for _ in range(settings.max_request_body_bytes // (1 << 20) + 2):
            yield b"\xff" * (1 << 20)
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        "/api/v1/scans/upload",
        headers={**user["headers"], "Content-Type": f"multipart/form-data; boundary={boundary}"},
        content=chunks(),
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("slug", ["zorblaxium-9000", "Retinol", "niacin amide", "x" * 300, "ñ"])
def test_an_unknown_ingredient_slug_is_a_404(client: TestClient, user: dict, slug: str) -> None:
    response = client.get(f"/api/v1/ingredients/{slug}", headers=user["headers"])
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "ingredient_not_found"


def test_concurrent_readiness_probes_all_answer_ready(client: TestClient) -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda _: client.get("/health/ready").status_code, range(60)))
    assert statuses.count(200) == 60, statuses


def test_readiness_caches_the_table_check(client: TestClient, container, monkeypatch) -> None:
    calls = []
    original = container.dynamodb.describe_table

    def counting(**kwargs):
        calls.append(kwargs["TableName"])
        return original(**kwargs)

    monkeypatch.setattr(container.dynamodb, "describe_table", counting)
    monkeypatch.setattr(container, "table_check", TableCheckCache(ttl_seconds=60))
    for _ in range(10):
        assert client.get("/health/ready").status_code == 200
    assert len(calls) == len(container.settings.table_names)
