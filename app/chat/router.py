"""/chat: thin routes over ChatService (async: the providers are async)."""

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import suppress
from typing import Annotated, Any

from anyio import CancelScope
from fastapi import APIRouter, Depends, Response, status
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from app.api.deps import ChatServiceDep, CurrentUser, SettingsDep
from app.api.params import Cursor, Limit, SessionId
from app.api.responses import error_responses
from app.chat.schemas import (
    ChatMessageCreate,
    ChatMessagePage,
    ChatMessageRead,
    ChatSessionPage,
    ChatSessionRead,
    ChatTurnRead,
)
from app.chat.turns import PreparedTurn, message_payload

router = APIRouter(prefix="/chat", tags=["chat"])
KEEPALIVE_COMMENT = "keep-alive"


@router.post(
    "/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=ChatTurnRead,
    responses=error_responses(401, 404, 422, 429, 503),
)
async def send_message(body: ChatMessageCreate, user: CurrentUser, chat: ChatServiceDep) -> ChatTurnRead:
    """Ask the assistant; without `session_id` a new session starts (titled by this message)."""
    turn = await chat.send(user=user, content=body.content, session_id=body.session_id)
    return ChatTurnRead.model_validate(message_payload(turn))


async def opened_stream(body: ChatMessageCreate, user: CurrentUser, chat: ChatServiceDep) -> PreparedTurn:
    """Rate limits and a missing session fail here, as a normal JSON error, before any event is sent."""
    return await chat.prepare(user=user, content=body.content, session_id=body.session_id)


@router.post(
    "/messages/stream",
    response_class=EventSourceResponse,
    responses={
        200: {"description": "start, delta…, done (or error); `: keep-alive` comments while idle"},
        **error_responses(401, 404, 422, 429, 503),
    },
)
async def stream_message(
    opened: Annotated[PreparedTurn, Depends(opened_stream)], chat: ChatServiceDep, settings: SettingsDep
) -> AsyncIterator[ServerSentEvent]:
    """The same as POST /messages, answered as Server-Sent Events while it is generated.

    A comment line is sent whenever nothing else was sent for CHAT_SSE_KEEPALIVE_SECONDS, so a
    proxy's idle timeout (often 60 s) does not cut a slow first answer.
    """
    events = chat.stream_events(prepared=opened)
    async for event in with_keepalive(events, interval=settings.chat_sse_keepalive_seconds):
        yield event


async def with_keepalive(
    events: AsyncGenerator[dict[str, Any], None], *, interval: float
) -> AsyncIterator[ServerSentEvent]:
    """Each event as a `ServerSentEvent`, plus a keep-alive comment after every idle `interval`."""
    pending: asyncio.Future[dict[str, Any]] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(events))
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if not done:
                yield ServerSentEvent(comment=KEEPALIVE_COMMENT)
                continue
            finished, pending = pending, None
            try:
                event = finished.result()
            except StopAsyncIteration:
                return
            yield ServerSentEvent(event=event["event"], data=event["data"])
    finally:
        # The client left (or the stream ended): let the service store what was streamed.
        with CancelScope(shield=True):
            if pending is not None:
                pending.cancel()
                with suppress(asyncio.CancelledError, StopAsyncIteration):
                    await pending
            await events.aclose()


@router.get("/sessions", response_model=ChatSessionPage, responses=error_responses(400, 401, 422, 503))
def list_sessions(
    user: CurrentUser, chat: ChatServiceDep, limit: Limit = 20, cursor: Cursor = None
) -> ChatSessionPage:
    """Newest activity first."""
    items, next_cursor = chat.sessions_page(user_id=user.user_id, limit=limit, cursor=cursor)
    return ChatSessionPage(
        items=[ChatSessionRead.model_validate(s.model_dump()) for s in items], next_cursor=next_cursor
    )


@router.get(
    "/sessions/{session_id}/messages",
    response_model=ChatMessagePage,
    responses=error_responses(400, 401, 404, 422, 503),
)
def list_messages(
    session_id: SessionId, user: CurrentUser, chat: ChatServiceDep, limit: Limit = 50, cursor: Cursor = None
) -> ChatMessagePage:
    """Oldest first."""
    items, next_cursor = chat.messages_page(
        user_id=user.user_id, session_id=session_id, limit=limit, cursor=cursor
    )
    return ChatMessagePage(
        items=[ChatMessageRead.model_validate(m.model_dump()) for m in items], next_cursor=next_cursor
    )


@router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 404, 503),
)
async def delete_session(session_id: SessionId, user: CurrentUser, chat: ChatServiceDep) -> Response:
    await run_in_threadpool(chat.delete_session, user_id=user.user_id, session_id=session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
