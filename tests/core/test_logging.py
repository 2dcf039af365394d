"""What an operator finds in the INFO log the service writes."""

import io
import logging
from collections.abc import Iterator

import pytest

from app.core.logging import configure_logging
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
