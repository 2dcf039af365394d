"""ChatService over HTTP with a provider that takes its time: an account deleted while the
assistant answers gets nothing stored, and the request ends as an account that is gone."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.deps import get_chat_service
from app.auth.repository import UserRecord
from app.chat.context import ChatContextBuilder
from app.chat.service import ChatService
from app.providers.assistant.base import ChatContext, ChatReply
from tests.conftest import PASSWORD

CHAT = "/api/v1/chat"


class DeletesTheAccountWhileAnswering:
    """A provider during whose answer the account is deleted (the user's other device, say)."""

    name = "slow"

    def __init__(self, container: Any) -> None:
        self._container = container
        self.user: UserRecord | None = None

    def _delete(self) -> None:
        assert self.user is not None
        self._container.account.delete_account(user=self.user, password=PASSWORD)

    async def reply(self, *, message: str, context: ChatContext) -> ChatReply:
        self._delete()
        return ChatReply(content=f"About {message}: apply sunscreen every morning.", provider=self.name)

    async def stream(self, *, message: str, context: ChatContext) -> AsyncIterator[str]:
        self._delete()
        for piece in ["Apply ", "sunscreen ", f"({message})."]:
            yield piece


@pytest.fixture
def deleting(client: TestClient, container: Any) -> Iterator[DeletesTheAccountWhileAnswering]:
    provider = DeletesTheAccountWhileAnswering(container)
    service = ChatService(
        chat=container.chat_repo,
        provider=provider,
        fallback=None,
        context_builder=ChatContextBuilder(scans=container.scans_repo, plans=container.plans),
        limiter=container.limiter,
        messages_per_minute=100,
    )
    client.app.dependency_overrides[get_chat_service] = lambda: service  # type: ignore[attr-defined]
    yield provider
    client.app.dependency_overrides.pop(get_chat_service)  # type: ignore[attr-defined]


def signed_in(container: Any, user: dict[str, Any], provider: DeletesTheAccountWhileAnswering) -> str:
    uid: str = user["user"]["user_id"]
    provider.user = container.users.get(user_id=uid)
    return uid


def test_a_message_answered_during_account_deletion_is_not_stored(
    client: TestClient, container: Any, user: dict[str, Any], deleting: DeletesTheAccountWhileAnswering
) -> None:
    uid = signed_in(container, user, deleting)
    response = client.post(f"{CHAT}/messages", headers=user["headers"], json={"content": "sunscreen?"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "account_deleted"
    assert container.chat_repo.all_items(user_id=uid) == []


def test_a_stream_answered_during_account_deletion_is_not_stored(
    client: TestClient, container: Any, user: dict[str, Any], deleting: DeletesTheAccountWhileAnswering
) -> None:
    uid = signed_in(container, user, deleting)
    with client.stream(
        "POST", f"{CHAT}/messages/stream", headers=user["headers"], json={"content": "sunscreen?"}
    ) as response:
        assert response.status_code == 200  # the stream had started before the deletion
        body = "".join(response.iter_text())
    assert "event: done" not in body
    assert "event: error" in body
    assert "account_deleted" in body
    assert container.chat_repo.all_items(user_id=uid) == []
