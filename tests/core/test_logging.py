"""What an operator finds in the INFO log the service writes."""

import io
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.core.logging import TextFormatter, configure_logging, log_startup
from app.core.security import new_id
from tests.conftest import make_settings
from tests.providers.gemini.fake_gemini import FakeGemini, client_for, text_reply

HTTP_CLIENT_LOGGERS = ("httpx", "httpx2")


@pytest.fixture
def info_log() -> Iterator[io.StringIO]:
    """The service's own logging set-up at INFO, written to a buffer, undone afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_levels = {name: logging.getLogger(name).level for name in HTTP_CLIENT_LOGGERS}
    configure_logging("INFO")
    buffer = io.StringIO()
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(buffer)
    yield buffer
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    for name, level in saved_levels.items():
        logging.getLogger(name).setLevel(level)


def test_gemini_http_requests_stay_out_of_the_info_log(info_log: io.StringIO) -> None:
    with FakeGemini() as fake:
        fake.enqueue(text_reply("Hello"))
        client = client_for(fake)
        client.models.generate_content(model="gemini-test", contents="Hi")
        client.close()
        assert fake.requests  # the call really went over HTTP
    logged = info_log.getvalue()
    assert logged  # the service's own INFO lines are there (the SDK's, at least)
    assert "HTTP Request" not in logged


def test_request_lines_carry_request_id_user_route_status_and_latency(
    client: TestClient, user: dict, info_log: io.StringIO
) -> None:
    client.get(f"/api/v1/scans/{new_id()}", headers={**user["headers"], "X-Request-ID": "req-42"})
    lines = [json.loads(raw) for raw in info_log.getvalue().splitlines() if raw.startswith("{")]
    (line,) = [entry for entry in lines if entry["logger"] == "dermalens.access"]
    assert line["request_id"] == "req-42"
    assert line["user_id"] == user["user"]["user_id"]
    assert line["route"] == "/api/v1/scans/{scan_id}"
    assert line["status"] == 404
    assert line["duration_ms"] >= 0


def test_development_lines_are_readable() -> None:
    record = logging.makeLogRecord(
        {"name": "dermalens.access", "levelname": "INFO", "msg": "GET /api/v1/scans 200", "status": 200}
    )
    text = TextFormatter().format(record)
    assert "INFO" in text
    assert "dermalens.access  GET /api/v1/scans 200" in text
    assert "status=200" in text
    assert not text.startswith("{")


def test_log_format_follows_the_environment(tmp_path) -> None:
    assert make_settings("http://127.0.0.1:1", tmp_path, environment="development").json_logs is False
    assert make_settings("http://127.0.0.1:1", tmp_path).json_logs is True
    assert make_settings(
        "http://127.0.0.1:1", tmp_path, environment="development", log_format="json"
    ).json_logs


def test_startup_says_where_it_listens_and_what_it_uses(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    settings = make_settings("http://127.0.0.1:9999", tmp_path, port=8123)
    with caplog.at_level(logging.INFO, logger="dermalens"):
        log_startup(
            settings, role="API", listen=f"http://{settings.host}:{settings.port}", container=_FakeContainer()
        )
    (record,) = [r for r in caplog.records if "started" in r.getMessage()]
    message = record.getMessage()
    for part in (
        "http://127.0.0.1:8123",
        "storage local",
        "vision local",
        "chat local",
        "dynamodb http://127.0.0.1:9999",
    ):
        assert part in message


class _FakeWorker:
    queue_name = "memory"


class _FakeContainer:
    analysis_worker = _FakeWorker()
