"""The chat API wired to the Gemini provider, against the fake Gemini server."""

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import PASSWORD, make_settings, unique_email
from tests.providers.gemini.fake_gemini import FakeGemini, Reply, error_reply, stream_reply, text_reply

CHAT = "/api/v1/chat/messages"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGemini]:
    with FakeGemini() as server:
        yield server


def gemini_app(endpoint: str, tmp_path: Any, fake: FakeGemini, **overrides: Any) -> TestClient:
    settings = make_settings(
        endpoint,
        tmp_path,
        chat_provider="gemini",
        gemini_api_key="test-key",
        gemini_base_url=fake.base_url,
        gemini_max_retries=0,
        gemini_timeout_seconds=2,
        **overrides,
    )
    return TestClient(create_app(settings))


def sign_up(client: TestClient) -> dict[str, str]:
    body = client.post("/api/v1/auth/register", json={"email": unique_email(), "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {body['tokens']['access_token']}"}


def test_gemini_answer_is_stored_with_the_structured_request(
    dynamodb_endpoint: str, tmp_path, fake: FakeGemini
) -> None:
    with gemini_app(dynamodb_endpoint, tmp_path, fake) as client:
        headers = sign_up(client)
        fake.enqueue(text_reply("Use it on your retinoid nights."))
        turn = client.post(CHAT, headers=headers, json={"content": "when do i use adaplene"}).json()
        answer = turn["assistant_message"]
        assert answer["provider"] == "gemini"
        assert answer["intent"] == "schedule"
        assert "Use it on your retinoid nights." in answer["content"]
        sent = fake.requests[-1]
        assert "not a doctor" in sent.system_text.lower()
        assert '"request":{"intent":"schedule","ingredients":["adapalene"]' in sent.system_text
        assert not any("inlineData" in part for part in sent.parts), "no photos go to the assistant"


def test_red_flags_are_answered_by_the_safety_layer_not_gemini(
    dynamodb_endpoint: str, tmp_path, fake: FakeGemini
) -> None:
    # Changed with issue 14: a red flag is no longer wrapped around the model's answer; the
    # safety layer answers it and Gemini is not asked (it could talk the warning down).
    with gemini_app(dynamodb_endpoint, tmp_path, fake) as client:
        headers = sign_up(client)
        asked = len(fake.requests)
        for message, advice in (
            ("My mole is bleeding, what cleanser?", "dermatologist"),
            ("hives all over my body and my throat feels tight", "emergency services"),
        ):
            answer = client.post(CHAT, headers=headers, json={"content": message}).json()["assistant_message"]
            assert answer["provider"] == "safety"
            assert answer["content"].startswith("**Please read this first.**")
            assert advice in answer["content"]
            assert answer["safety_flags"]
        assert len(fake.requests) == asked


def test_pregnancy_caution_from_the_ingredient_data_tops_gemini_answers(
    dynamodb_endpoint: str, tmp_path, fake: FakeGemini
) -> None:
    with gemini_app(dynamodb_endpoint, tmp_path, fake) as client:
        headers = sign_up(client)
        fake.enqueue(text_reply("Sure, retinol is great for acne."))
        answer = client.post(
            CHAT, headers=headers, json={"content": "I am pregnant, is retinol ok for me?"}
        ).json()["assistant_message"]
        assert answer["content"].startswith("No: Retinol is a retinoid")
        assert '"pregnancy":"pregnant"' in fake.requests[-1].system_text


def test_gemini_down_is_503_and_stores_nothing(dynamodb_endpoint: str, tmp_path, fake: FakeGemini) -> None:
    with gemini_app(dynamodb_endpoint, tmp_path, fake) as client:
        headers = sign_up(client)
        fake.enqueue(error_reply(500, "INTERNAL"))
        response = client.post(CHAT, headers=headers, json={"content": "hello"})
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "assistant_unavailable"
        assert client.get("/api/v1/chat/sessions", headers=headers).json()["items"] == []


def test_gemini_down_falls_back_to_local_when_configured(
    dynamodb_endpoint: str, tmp_path, fake: FakeGemini
) -> None:
    with gemini_app(dynamodb_endpoint, tmp_path, fake, chat_fallback_to_local=True) as client:
        headers = sign_up(client)
        fake.enqueue(error_reply(429, "RESOURCE_EXHAUSTED"))
        response = client.post(CHAT, headers=headers, json={"content": "When should I rescan?"})
        assert response.status_code == 201
        assert response.json()["assistant_message"]["provider"] == "local"
        assert "once a week" in response.json()["assistant_message"]["content"]


def test_client_leaving_mid_stream_leaves_a_whole_turn(
    dynamodb_endpoint: str, tmp_path, fake: FakeGemini
) -> None:
    with gemini_app(dynamodb_endpoint, tmp_path, fake) as client:
        headers = sign_up(client)
        container = client.app.state.container  # type: ignore[attr-defined]
        user = container.auth.authenticate(access_token=headers["Authorization"][7:])[0]
        fake.enqueue(stream_reply(["Apply ", "sunscreen ", "every ", "morning."], event_delay_seconds=0.05))

        async def read_two_pieces_then_leave() -> tuple[str, str]:
            events = container.chat.stream(user=user, content="sunscreen tips?", session_id=None)
            start = await anext(events)
            streamed = [(await anext(events))["data"]["text"] for _ in range(2)]
            await events.aclose()  # what Starlette does when the client disconnects
            return start["data"]["session_id"], "".join(streamed)

        session_id, streamed = asyncio.run(read_two_pieces_then_leave())
        messages = client.get(f"/api/v1/chat/sessions/{session_id}/messages", headers=headers).json()["items"]
        assert [m["role"] for m in messages] == ["user", "assistant"]
        assert messages[1]["interrupted"] is True
        assert messages[1]["content"] == streamed
        session = client.get("/api/v1/chat/sessions", headers=headers).json()["items"][0]
        assert session["message_count"] == 2


def test_slow_first_answer_gets_keep_alive_comments(
    dynamodb_endpoint: str, tmp_path, fake: FakeGemini
) -> None:
    # A proxy with a 60 s idle timeout cuts a stream that says nothing; comments keep it open.
    with gemini_app(dynamodb_endpoint, tmp_path, fake, chat_sse_keepalive_seconds=0.1) as client:
        headers = sign_up(client)
        slow = stream_reply(["Reapply ", "every two hours."])
        fake.enqueue(Reply(events=slow.events, delay_seconds=0.6))
        response = client.post(f"{CHAT}/stream", headers=headers, json={"content": "sunscreen tips?"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        blocks = [b for b in response.text.split("\n\n") if b.strip()]
        first_delta = next(i for i, b in enumerate(blocks) if b.startswith("event: delta"))
        keepalives = [b for b in blocks[:first_delta] if b == ": keep-alive"]
        assert len(keepalives) >= 3, blocks[:first_delta]
        assert blocks[0].startswith("event: start")
        assert blocks[-1].startswith("event: done")
        assert "Reapply every two hours." in blocks[-1]


def test_stream_to_an_unknown_session_is_a_json_404(
    dynamodb_endpoint: str, tmp_path, fake: FakeGemini
) -> None:
    with gemini_app(dynamodb_endpoint, tmp_path, fake) as client:
        headers = sign_up(client)
        response = client.post(
            f"{CHAT}/stream",
            headers=headers,
            json={"content": "hi", "session_id": "01HZZZZZZZZZZZZZZZZZZZZZZZ"},
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "session_not_found"


def test_streamed_red_flag_comes_from_the_safety_layer(
    dynamodb_endpoint: str, tmp_path, fake: FakeGemini
) -> None:
    with gemini_app(dynamodb_endpoint, tmp_path, fake) as client:
        headers = sign_up(client)
        asked = len(fake.requests)
        response = client.post(
            f"{CHAT}/stream",
            headers=headers,
            json={"content": "my face is swollen and hot after a new cream"},
        )
        blocks = [b for b in response.text.split("\n\n") if b.startswith("event: ")]
        deltas = [json.loads(b.split("data: ", 1)[1])["text"] for b in blocks if b.startswith("event: delta")]
        done = json.loads(blocks[-1].split("data: ", 1)[1])
        assert "".join(deltas).startswith("**Please read this first.**")
        assert done["assistant_message"]["provider"] == "safety"
        assert done["assistant_message"]["content"] == "".join(deltas)
        assert "facial_swelling" in done["assistant_message"]["safety_flags"]
        assert len(fake.requests) == asked
