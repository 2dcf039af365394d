"""The assistant: context from the user's own data, a provider, safety rules, stored history."""

import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Literal

from anyio import CancelScope, to_thread

from app.auth.repository import UserRecord
from app.chat.repository import ChatMessageRecord, ChatRepository, ChatSessionRecord, SessionConflict
from app.core.errors import NotFoundError
from app.core.rate_limit import RateLimiter
from app.core.security import iso, new_id, utc_now
from app.providers.assistant.base import ChatContext, ChatProvider, ChatProviderError, ChatReply, ChatTurn
from app.providers.assistant.pipeline import SAFETY_PROVIDER, Screened, respond, screen
from app.providers.assistant.safety import RedFlag, clean_piece, closing_note

HISTORY_TURNS = 12
TITLE_CHARS = 60
PREVIEW_CHARS = 120


class SessionNotFoundError(NotFoundError):
    code = "session_not_found"
    message = "No such chat session."


def session_title(first_message: str) -> str:
    """The first words of the first message, cut on a word boundary."""
    text = " ".join(first_message.split())
    if len(text) <= TITLE_CHARS:
        return text
    return text[:TITLE_CHARS].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


@dataclass
class Turn:
    session: ChatSessionRecord
    user_message: ChatMessageRecord
    assistant_message: ChatMessageRecord


ContextBuilder = Callable[[UserRecord], ChatContext]


@dataclass
class ChatStream:
    """A streamed turn that passed the checks and is ready to generate."""

    user: UserRecord
    content: str
    session: ChatSessionRecord
    is_new: bool
    context: ChatContext


def _words(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text)


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
    ) -> None:
        self._chat = chat
        self._provider = provider
        self._fallback = fallback
        self._build_context = context_builder
        self._limiter = limiter
        self._per_minute = messages_per_minute

    # ---- sending ----

    async def send(self, *, user: UserRecord, content: str, session_id: str | None) -> Turn:
        """Answer one message and store both sides of the turn together."""
        session, is_new, context = await to_thread.run_sync(self._prepare, user, content, session_id)
        screened, reply = await respond(
            provider=self._provider, message=content, context=context, fallback=self._fallback
        )
        return await to_thread.run_sync(
            self._store, user, session, is_new, content, reply.content, reply, screened.flags, context, False
        )

    async def open_stream(self, *, user: UserRecord, content: str, session_id: str | None) -> "ChatStream":
        """Everything that can fail as a normal error (rate limit, unknown session) before streaming starts."""
        session, is_new, context = await to_thread.run_sync(self._prepare, user, content, session_id)
        return ChatStream(user=user, content=content, session=session, is_new=is_new, context=context)

    async def stream(
        self, *, user: UserRecord, content: str, session_id: str | None
    ) -> AsyncIterator[dict[str, Any]]:
        """Server-sent events: `start`, `delta` pieces, then `done` with the stored messages."""
        opened = await self.open_stream(user=user, content=content, session_id=session_id)
        # aclosing: a client leaving closes the inner stream now, so it stores the partial turn.
        async with aclosing(self.stream_events(opened)) as events:
            async for event in events:
                yield event

    async def stream_events(self, opened: "ChatStream") -> AsyncGenerator[dict[str, Any], None]:
        """The events of an opened stream; the safety layer runs first, as for `send`.

        What is stored is exactly what was streamed. A client that goes away mid-stream
        still gets a whole turn in its history: what was generated so far, marked `interrupted`.
        """
        user, content, session, is_new, context = (
            opened.user,
            opened.content,
            opened.session,
            opened.is_new,
            opened.context,
        )
        screened = screen(message=content, context=context)
        provider_name = SAFETY_PROVIDER if screened.answer is not None else self._provider.name
        reply = ChatReply(content="", provider=provider_name, intent=screened.request.intent)
        streamed: list[str] = []
        finished = False
        yield {"event": "start", "data": {"session_id": session.session_id}}
        try:
            async for piece in self._pieces(screened, content, context):
                text = clean_piece(piece)
                if text:
                    streamed.append(text)
                    yield {"event": "delta", "data": {"text": text}}
            note = closing_note(screened.flags, "".join(streamed), medical_topic=screened.medical_topic)
            if note:
                streamed.append(note)
                yield {"event": "delta", "data": {"text": note}}
            finished = True
        except ChatProviderError as exc:
            yield {"event": "error", "data": {"code": exc.code, "message": exc.message}}
            return
        finally:
            if not finished and streamed:
                with CancelScope(shield=True):
                    await to_thread.run_sync(
                        self._store,
                        user,
                        session,
                        is_new,
                        content,
                        "".join(streamed),
                        reply,
                        screened.flags,
                        context,
                        True,
                    )
        turn = await to_thread.run_sync(
            self._store,
            user,
            session,
            is_new,
            content,
            "".join(streamed),
            reply,
            screened.flags,
            context,
            False,
        )
        yield {"event": "done", "data": message_payload(turn)}

    async def _pieces(self, screened: Screened, content: str, context: ChatContext) -> AsyncIterator[str]:
        """The safety layer's own answer word by word, or its cautions followed by the provider's pieces."""
        if screened.answer is not None:
            for piece in _words(screened.answer):
                yield piece
            return
        if screened.preamble:
            yield screened.preamble
        async for piece in self._provider.stream(message=content, context=context):
            yield piece

    def _prepare(
        self, user: UserRecord, content: str, session_id: str | None
    ) -> tuple[ChatSessionRecord, bool, ChatContext]:
        self._limiter.hit(
            owner=user.user_id,
            name="chat_messages",
            limit=self._per_minute,
            window_seconds=60,
            message=f"You can send {self._per_minute} messages a minute; wait a moment.",
        )
        now = iso(utc_now())
        if session_id:
            session = self._chat.get_session(user_id=user.user_id, session_id=session_id)
            if session is None:
                raise SessionNotFoundError()
            is_new = False
            history = self._recent_turns(user.user_id, session_id)
        else:
            session = ChatSessionRecord(
                user_id=user.user_id,
                session_id=new_id(),
                title=session_title(content),
                created_at=now,
                last_activity_at=now,
                last_message_preview="",
                message_count=0,
            )
            is_new = True
            history = []
        context = self._build_context(user)
        context.history = history
        return session, is_new, context

    def _recent_turns(self, user_id: str, session_id: str) -> list[ChatTurn]:
        messages, _ = self._chat.messages_page(
            user_id=user_id, session_id=session_id, limit=HISTORY_TURNS, cursor=None, newest_first=True
        )
        return [ChatTurn(role=m.role, content=m.content) for m in reversed(messages)]

    def _store(
        self,
        user: UserRecord,
        session: ChatSessionRecord,
        is_new: bool,
        content: str,
        answer: str,
        reply: ChatReply,
        flags: list[RedFlag],
        context: ChatContext,
        interrupted: bool,
    ) -> Turn:
        refs = {
            k: v
            for k, v in {
                "scan_id": (context.latest_scan or {}).get("scan_id"),
                "plan_id": (context.plan or {}).get("plan_id"),
            }.items()
            if v
        }

        def message(role: Literal["user", "assistant"], text: str, **extra: Any) -> ChatMessageRecord:
            return ChatMessageRecord(
                user_id=user.user_id,
                message_id=new_id(),
                session_id=session.session_id,
                role=role,
                content=text,
                created_at=iso(utc_now()),
                safety_flags=[f.category for f in flags],
                **extra,
            )

        user_message = message("user", content)
        assistant_message = message(
            "assistant",
            answer,
            provider=reply.provider,
            intent=reply.intent,
            context_refs=refs,
            interrupted=interrupted,
        )
        session.last_message_preview = answer[:PREVIEW_CHARS]
        session.last_activity_at = assistant_message.created_at
        try:
            self._chat.add_turn(
                user_id=user.user_id,
                session=session,
                messages=[user_message, assistant_message],
                is_new=is_new,
            )
        except SessionConflict as exc:
            raise SessionNotFoundError("The session was deleted meanwhile.") from exc
        if is_new:
            session.message_count = 2
        else:
            session.message_count += 2
        return Turn(session=session, user_message=user_message, assistant_message=assistant_message)

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


def message_payload(turn: Turn) -> dict[str, Any]:
    return {
        "session_id": turn.session.session_id,
        "user_message": turn.user_message.model_dump(exclude={"user_id"}),
        "assistant_message": turn.assistant_message.model_dump(exclude={"user_id"}),
    }
