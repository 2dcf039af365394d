"""End to end: with a cloud provider configured, an opted-out user's scan and chat stay local.

The "cloud" providers here are fakes standing in for Gemini (no network); the selector the
Container wires into the analysis worker and the chat service is the real one.
"""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.preferences.providers import ProviderSelector
from app.providers.assistant.base import ChatContext, ChatReply
from app.providers.vision.base import AnalysisFailedError
from tests.helpers import send, upload_scan, wait_for
from tests.images import face_jpeg

PREFS = "/api/v1/users/me/preferences"


class CloudChat:
    name = "gemini"

    async def reply(self, *, message: str, context: ChatContext) -> ChatReply:
        return ChatReply(content="an answer from the cloud", provider=self.name)

    async def stream(self, *, message: str, context: ChatContext) -> AsyncIterator[str]:
        yield "an answer from the cloud"


class CloudVision:
    name = "gemini"

    def analyze(self, images: dict[str, bytes]) -> Any:
        raise AnalysisFailedError("the cloud analyser was asked", code="cloud_was_used")

    def render_overlay(self, image: bytes, analysis: Any) -> bytes:
        raise AssertionError("not reached")


@pytest.fixture
def cloud_configured(container: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = container.preferences._repo
    chat: ProviderSelector[Any] = ProviderSelector(
        preferences=repo,
        configured=CloudChat(),
        configured_is_local=False,
        local=lambda: container.chat_provider,
    )
    vision: ProviderSelector[Any] = ProviderSelector(
        preferences=repo, configured=CloudVision(), configured_is_local=False, local=lambda: container.vision
    )
    monkeypatch.setattr(container.chat, "_provider_for", chat.for_user)
    monkeypatch.setattr(container.analysis, "vision_for", vision.for_user)


@pytest.mark.usefixtures("cloud_configured")
def test_an_opted_out_users_scan_and_chat_use_the_local_providers(client: TestClient, register: Any) -> None:
    opted_out, other = register(), register()
    assert (
        client.patch(PREFS, headers=opted_out["headers"], json={"cloud_ai_opt_out": True}).status_code == 200
    )

    scan = wait_for(
        client, opted_out["headers"], upload_scan(client, opted_out["headers"], face_jpeg())["scan_id"]
    )
    assert scan["status"] == "completed", scan.get("failure")
    assert (
        send(client, opted_out, "Is niacinamide good for redness?")["assistant_message"]["provider"]
        != "gemini"
    )
    streamed = client.post(
        "/api/v1/chat/messages/stream", headers=opted_out["headers"], json={"content": "hello again"}
    )
    assert streamed.status_code == 200
    assert "an answer from the cloud" not in streamed.text

    # Everyone else still gets the configured (cloud) providers.
    failed = wait_for(client, other["headers"], upload_scan(client, other["headers"], face_jpeg())["scan_id"])
    assert failed["failure"]["code"] == "cloud_was_used"
    assert (
        send(client, other, "Is niacinamide good for redness?")["assistant_message"]["provider"] == "gemini"
    )
