"""The chat API and the scan worker wired to Bedrock (CHAT_PROVIDER / VISION_PROVIDER=bedrock),
against the fake Bedrock Runtime: what is stored is what was streamed, and the local
assistant answers when Bedrock throttles (CHAT_FALLBACK_TO_LOCAL)."""

import json
from typing import Any

from fastapi.testclient import TestClient

from app.core.vocabulary import METRICS
from app.main import create_app
from app.providers.vision.bedrock import TOOL_NAME
from tests.conftest import PASSWORD, make_settings, unique_email
from tests.helpers import today, upload_scan, wait_for
from tests.images import face_jpeg
from tests.providers.bedrock.fake_bedrock import (
    FakeBedrock,
    error_reply,
    stream_reply,
    text_reply,
    tool_reply,
)

CHAT = "/api/v1/chat/messages"


def bedrock_app(endpoint: str, tmp_path: Any, fake: FakeBedrock, **overrides: Any) -> TestClient:
    settings = make_settings(
        endpoint,
        tmp_path,
        chat_provider="bedrock",
        bedrock_endpoint_url=fake.url,
        bedrock_max_attempts=1,
        bedrock_read_timeout_seconds=2,
        **overrides,
    )
    return TestClient(create_app(settings))


def sign_up(client: TestClient) -> dict[str, str]:
    body = client.post("/api/v1/auth/register", json={"email": unique_email(), "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {body['tokens']['access_token']}"}


def sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.split("\n\n"):
        if block.startswith("event: "):
            name, data = block.split("\n", 1)
            events.append((name.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return events


def test_bedrock_answer_is_stored(dynamodb_endpoint: str, tmp_path, fake: FakeBedrock) -> None:
    with bedrock_app(dynamodb_endpoint, tmp_path, fake) as client:
        headers = sign_up(client)
        logged = client.post("/api/v1/skin-logs", headers=headers, json={"date": today(), "dryness": 65})
        assert logged.status_code == 201, logged.text
        fake.enqueue(text_reply("Your dryness rating was 65/100; add a richer moisturiser."))
        turn = client.post(CHAT, headers=headers, json={"content": "why is my skin so dry"}).json()
        answer = turn["assistant_message"]
        assert answer["provider"] == "bedrock"
        assert "Your dryness rating was 65/100" in answer["content"]
        assert '"dryness":65' in fake.requests[-1].system_text  # the skin log reached the model


def test_throttled_bedrock_falls_back_to_local_or_answers_503(
    dynamodb_endpoint: str, tmp_path, fake: FakeBedrock
) -> None:
    with bedrock_app(dynamodb_endpoint, tmp_path, fake, chat_fallback_to_local=True) as client:
        headers = sign_up(client)
        fake.enqueue(error_reply(429, "ThrottlingException"))
        response = client.post(CHAT, headers=headers, json={"content": "how often should I use sunscreen?"})
        assert response.status_code == 201, response.text
        assert response.json()["assistant_message"]["provider"] == "local"

        # Streamed: throttled before the first piece, the local assistant streams instead.
        fake.enqueue(error_reply(429, "ThrottlingException"))
        streamed = sse(
            client.post(f"{CHAT}/stream", headers=headers, json={"content": "sunscreen tips?"}).text
        )
        assert streamed[-1][0] == "done"
        assert streamed[-1][1]["assistant_message"]["provider"] == "local"
        deltas = "".join(data["text"] for name, data in streamed if name == "delta")
        assert streamed[-1][1]["assistant_message"]["content"] == deltas

    with bedrock_app(dynamodb_endpoint, tmp_path, fake) as client:
        headers = sign_up(client)
        fake.enqueue(error_reply(429, "ThrottlingException"))
        response = client.post(CHAT, headers=headers, json={"content": "how often should I use sunscreen?"})
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "assistant_unavailable"
        assert client.get("/api/v1/chat/sessions", headers=headers).json()["items"] == []


def test_a_stream_cut_half_way_stores_exactly_what_was_streamed(
    dynamodb_endpoint: str, tmp_path, fake: FakeBedrock
) -> None:
    with bedrock_app(dynamodb_endpoint, tmp_path, fake, chat_fallback_to_local=True) as client:
        headers = sign_up(client)
        fake.enqueue(stream_reply(["Apply ", "sunscreen ", "every ", "morning."], cut_after_frames=3))
        events = sse(client.post(f"{CHAT}/stream", headers=headers, json={"content": "sunscreen tips?"}).text)
        names = [name for name, _ in events]
        assert names[0] == "start"
        assert names[-1] == "error"
        assert events[-1][1]["code"] == "assistant_unavailable"
        streamed = "".join(data["text"] for name, data in events if name == "delta")
        assert streamed == "Apply sunscreen "  # no fallback once Bedrock has started answering
        session_id = events[0][1]["session_id"]
        messages = client.get(f"/api/v1/chat/sessions/{session_id}/messages", headers=headers).json()["items"]
        assert [m["role"] for m in messages] == ["user", "assistant"]
        assert messages[1]["content"] == streamed
        assert messages[1]["interrupted"] is True
        assert messages[1]["provider"] == "bedrock"


def test_scans_scored_by_bedrock_or_failed_with_a_reason(
    dynamodb_endpoint: str, tmp_path, fake: FakeBedrock
) -> None:
    good = {
        "angle": "front",
        "quality": {"face_found": True, "sharpness_ok": True, "exposure_ok": True, "problems": []},
        "scores": dict.fromkeys(METRICS, 72),
    }
    with bedrock_app(dynamodb_endpoint, tmp_path, fake, vision_provider="bedrock") as client:
        headers = sign_up(client)
        fake.enqueue(tool_reply(TOOL_NAME, {"angles": [good]}))
        scan = wait_for(client, headers, upload_scan(client, headers, face_jpeg())["scan_id"])
        assert scan["status"] == "completed", scan
        assert scan["scores"]["acne"] == 72
        assert scan["scores"]["overall"] == 72

        fake.enqueue(tool_reply(TOOL_NAME, {"angles": [{**good, "scores": dict.fromkeys(METRICS, 140)}]}))
        failed = wait_for(client, headers, upload_scan(client, headers, face_jpeg())["scan_id"])
        assert failed["status"] == "failed"
        assert failed["failure"]["code"] == "vision_invalid_response"
        assert not failed.get("scores")
