"""A slow or failing Gemini (the fake server, over real HTTP): chat is bounded, the rest unaffected.

GEMINI_DEADLINE_SECONDS bounds one answer, attempts and backoff included; past it the chat
answers with the local fallback (when configured) or a 503 in the error envelope. Without
it, the SDK's own policy here (10 s per attempt, 3 attempts, backoff) would take ≈ 35 s. The
checks on time compare with one attempt's timeout, not with the deadline plus a guess: the
DynamoDB work around the call is as slow as the shared machine is at that moment.
"""

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.providers.gemini import worst_case_seconds
from tests.conftest import PASSWORD, make_settings, unique_email
from tests.providers.gemini.fake_gemini import FakeGemini, Reply, error_reply, response_json, stream_reply

CHAT = "/api/v1/chat/messages"
DEADLINE = 1.5
ATTEMPT_TIMEOUT = 10.0
RETRIES = 2


@pytest.fixture
def fake() -> Iterator[FakeGemini]:
    with FakeGemini() as server:
        yield server


def gemini_app(endpoint: str, tmp_path: Path, fake: FakeGemini, **overrides: Any) -> TestClient:
    values: dict[str, Any] = {
        "chat_provider": "gemini",
        "gemini_api_key": "test-key",
        "gemini_base_url": fake.base_url,
        "gemini_timeout_seconds": ATTEMPT_TIMEOUT,
        "gemini_max_retries": RETRIES,
        "gemini_deadline_seconds": DEADLINE,
        "chat_messages_per_minute": 1000,
    }
    settings = make_settings(endpoint, tmp_path, **{**values, **overrides})
    return TestClient(create_app(settings))


def sign_up(client: TestClient) -> dict[str, str]:
    body = client.post("/api/v1/auth/register", json={"email": unique_email(), "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {body['tokens']['access_token']}"}


def slow(seconds: float) -> Reply:
    return Reply(body=response_json("Too late."), delay_seconds=seconds)


def test_without_the_deadline_the_attempts_alone_would_take_far_longer() -> None:
    # The point of the deadline: what the retry policy allows (and the old defaults: ≈ 95 s).
    assert worst_case_seconds(timeout_seconds=ATTEMPT_TIMEOUT, max_retries=RETRIES, backoff_seconds=1.0) > 30
    assert worst_case_seconds(timeout_seconds=30, max_retries=2, backoff_seconds=1.0) == pytest.approx(95)


def test_a_gemini_that_hangs_gets_a_503_within_the_deadline(
    dynamodb_endpoint: str, tmp_path: Path, fake: FakeGemini
) -> None:
    with gemini_app(dynamodb_endpoint, tmp_path, fake) as client:
        headers = sign_up(client)
        fake.enqueue(slow(30), slow(30), slow(30))
        started = time.monotonic()
        response = client.post(CHAT, headers=headers, json={"content": "what does niacinamide do?"})
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["code"] == "assistant_unavailable"
        assert error["details"] == {"reason": "timeout", "deadline_seconds": DEADLINE}
        assert response.headers["Retry-After"]
        # Ended by the deadline: not even the first attempt's own timeout was reached.
        assert DEADLINE <= elapsed < ATTEMPT_TIMEOUT
        assert len(fake.requests) == 1
        assert client.get("/api/v1/chat/sessions", headers=headers).json()["items"] == []


def test_a_gemini_answering_500s_falls_back_to_local_within_the_deadline(
    dynamodb_endpoint: str, tmp_path: Path, fake: FakeGemini
) -> None:
    with gemini_app(dynamodb_endpoint, tmp_path, fake, chat_fallback_to_local=True) as client:
        headers = sign_up(client)
        fake.enqueue(*[error_reply(500, "INTERNAL")] * 10)
        response = client.post(CHAT, headers=headers, json={"content": "When should I rescan?"})
        assert response.status_code == 201
        assert response.json()["assistant_message"]["provider"] == "local"
        # The deadline cut the retry policy short (3 attempts, 1-2 s and 2-3 s apart).
        assert 1 <= len(fake.requests) < RETRIES + 1


def test_a_stream_whose_first_piece_never_comes_ends_with_an_error_event_in_time(
    dynamodb_endpoint: str, tmp_path: Path, fake: FakeGemini
) -> None:
    with gemini_app(dynamodb_endpoint, tmp_path, fake) as client:
        headers = sign_up(client)
        late = stream_reply(["Never ", "shown."])
        fake.enqueue(*[Reply(events=late.events, delay_seconds=30)] * 3)
        started = time.monotonic()
        response = client.post(f"{CHAT}/stream", headers=headers, json={"content": "sunscreen tips?"})
        elapsed = time.monotonic() - started
        blocks = [b for b in response.text.split("\n\n") if b.startswith("event: ")]
        assert blocks[0].startswith("event: start")
        assert blocks[-1].startswith("event: error")
        assert "assistant_unavailable" in blocks[-1]
        assert "did not answer in time" in blocks[-1]
        assert elapsed < ATTEMPT_TIMEOUT
        assert len(fake.requests) == 1


def test_other_endpoints_keep_answering_while_chats_wait_on_a_slow_gemini(
    dynamodb_endpoint: str, tmp_path: Path, fake: FakeGemini
) -> None:
    gemini_delay = 6.0
    with gemini_app(dynamodb_endpoint, tmp_path, fake, gemini_deadline_seconds=10.0) as client:
        users = [sign_up(client) for _ in range(4)]
        fake.enqueue(*[slow(gemini_delay)] * 8)
        chats: list[int] = []
        waiting = [
            threading.Thread(
                target=lambda h=headers: chats.append(
                    client.post(CHAT, headers=h, json={"content": "what does niacinamide do?"}).status_code
                )
            )
            for headers in users * 2
        ]
        for thread in waiting:
            thread.start()
        try:
            deadline = time.monotonic() + 10
            while len(fake.requests) < len(waiting):  # all eight chats are now waiting on Gemini
                assert time.monotonic() < deadline, "the chats did not reach Gemini"
                time.sleep(0.05)
            slowest = 0.0
            for index in range(10):
                started = time.monotonic()
                assert client.get("/api/v1/auth/me", headers=users[index % 4]).status_code == 200
                slowest = max(slowest, time.monotonic() - started)
            # Not queued behind the chats: answered while every one of them was still waiting.
            assert not chats
            assert slowest < gemini_delay / 2
        finally:
            for thread in waiting:
                thread.join(timeout=60)
        assert chats == [201] * 8
