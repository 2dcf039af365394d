"""The assistant: context from the user's own data, a provider, safety rules, stored history.

Framework-free (callable from a worker or the CLI): blocking repository work runs in a
thread through anyio. Every message takes one pipeline (`app.chat.turns`): prepared here,
answered at once by `send` or piece by piece by `stream`, then recorded.
"""

from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import Any

from anyio import to_thread

from app.auth.models import UserRecord
from app.chat.repository import ChatMessageRecord, ChatRepository, ChatSessionRecord
from app.chat.streaming import TurnStreamer
from app.chat.turns import Answer, PreparedTurn, SessionNotFoundError, Turn, TurnRecorder
from app.core.rate_limit import RateLimiter
from app.core.security import iso, new_id, utc_now
from app.providers.assistant.base import ChatContext, ChatProvider, ChatTurn
from app.providers.assistant.pipeline import respond

HISTORY_TURNS = 12
TITLE_CHARS = 60

__all__ = ["ChatService", "PreparedTurn", "SessionNotFoundError", "Turn", "session_title"]


def session_title(first_message: str) -> str:
    """The first words of the first message, cut on a word boundary."""
    text = " ".join(first_message.split())
    if len(text) <= TITLE_CHARS:
        return text
    return text[:TITLE_CHARS].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


ContextBuilder = Callable[[UserRecord], ChatContext]
ProviderSelector = Callable[[str], ChatProvider]  # user id → provider (the cloud-AI opt-out)


class ChatService:
    def __init__(
        self,
        *,
        chat: ChatRepository,
        provider: ChatProvider,
        fallback: ChatProvider | None,
        context_builder: ContextBuilder,
        limiter: RateLimiter,
        messages_per_minute: int,
        provider_for: ProviderSelector | None = None,
    ) -> None:
        self._chat = chat
        self._provider = provider
        self._fallback = fallback
        self._build_context = context_builder
        self._limiter = limiter
        self._per_minute = messages_per_minute
        self._recorder = TurnRecorder(chat=chat)
        self._provider_for = provider_for
        self._streamer = TurnStreamer(provider=provider, recorder=self._recorder, fallback=fallback)

    # ---- sending ----

    async def send(self, *, user: UserRecord, content: str, session_id: str | None) -> Turn:
        """Answer one message and store both sides of the turn together."""
        prepared = await self.prepare(user=user, content=content, session_id=session_id)
        screened, reply = await respond(
            provider=prepared.provider or self._provider,
            message=content,
            context=prepared.context,
            fallback=self._fallback,
        )
        answer = Answer(text=reply.content, reply=reply, flags=screened.flags)
        return await to_thread.run_sync(lambda: self._recorder.record(prepared=prepared, answer=answer))

    async def prepare(self, *, user: UserRecord, content: str, session_id: str | None) -> PreparedTurn:
        """Everything that can fail as a normal error (rate limit, unknown session) before answering."""
        return await to_thread.run_sync(
            lambda: self._prepare_sync(user=user, content=content, session_id=session_id)
        )

    async def stream(
        self, *, user: UserRecord, content: str, session_id: str | None
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Server-sent events: `start`, `delta` pieces, then `done` with the stored messages."""
        prepared = await self.prepare(user=user, content=content, session_id=session_id)
        # aclosing: a client leaving closes the inner stream now, so it stores the partial turn.
        async with aclosing(self.stream_events(prepared=prepared)) as events:
            async for event in events:
                yield event

    def stream_events(self, *, prepared: PreparedTurn) -> AsyncGenerator[dict[str, Any], None]:
        """The events of an opened turn (see `TurnStreamer.events`)."""
        streamer = self._streamer
        if prepared.provider is not None and prepared.provider is not self._provider:
            streamer = TurnStreamer(
                provider=prepared.provider, recorder=self._recorder, fallback=self._fallback
            )
        return streamer.events(prepared=prepared)

    def _prepare_sync(self, *, user: UserRecord, content: str, session_id: str | None) -> PreparedTurn:
        self._limiter.hit(
            owner=user.user_id,
            name="chat_messages",
            limit=self._per_minute,
            window_seconds=60,
            message=f"You can send {self._per_minute} messages a minute; wait a moment.",
        )
        new_session = None
        if session_id:
            # No summary read: a session always holds its first turn, so history is the proof
            # it exists (and is the caller's: the query is in their partition); the turn's
            # transaction re-checks the summary in case it is deleted meanwhile.
            history = self._recent_turns(user_id=user.user_id, session_id=session_id)
            if not history:
                raise SessionNotFoundError()
        else:
            now = iso(utc_now())
            new_session = ChatSessionRecord(
                user_id=user.user_id,
                session_id=new_id(),
                title=session_title(content),
                created_at=now,
                last_activity_at=now,
                last_message_preview="",
                message_count=0,
            )
            history = []
        context = self._build_context(user)
        context.history = history
        return PreparedTurn(
            user=user,
            content=content,
            session_id=new_session.session_id if new_session else str(session_id),
            new_session=new_session,
            context=context,
            provider=self._provider_for(user.user_id) if self._provider_for else None,
        )

    def _recent_turns(self, *, user_id: str, session_id: str) -> list[ChatTurn]:
        messages, _ = self._chat.messages_page(
            user_id=user_id,
            session_id=session_id,
            limit=HISTORY_TURNS,
            cursor=None,
            newest_first=True,
            consistent=True,  # a message sent right after the first must find the session
        )
        return [ChatTurn(role=m.role, content=m.content) for m in reversed(messages)]

    # ---- reading and deleting ----

    def sessions_page(
        self, *, user_id: str, limit: int, cursor: str | None
    ) -> tuple[list[ChatSessionRecord], str | None]:
        return self._chat.sessions_page(user_id=user_id, limit=limit, cursor=cursor)

    def messages_page(
        self, *, user_id: str, session_id: str, limit: int, cursor: str | None
    ) -> tuple[list[ChatMessageRecord], str | None]:
        if self._chat.get_session(user_id=user_id, session_id=session_id) is None:
            raise SessionNotFoundError()
        return self._chat.messages_page(user_id=user_id, session_id=session_id, limit=limit, cursor=cursor)

    def delete_session(self, *, user_id: str, session_id: str) -> None:
        if self._chat.get_session(user_id=user_id, session_id=session_id) is None:
            raise SessionNotFoundError()
        self._chat.delete_session(user_id=user_id, session_id=session_id)
