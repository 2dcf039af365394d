"""/chat: thin routes over ChatService (async: the providers are async)."""

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Response, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from app.api.deps import ChatServiceDep, CurrentUser
from app.api.params import Cursor, Limit, SessionId
from app.schemas.chat import (
    ChatMessageCreate,
    ChatMessagePage,
    ChatMessageRead,
    ChatSessionPage,
    ChatSessionRead,
    ChatTurnRead,
)
from app.services.chat import message_payload

router = APIRouter(prefix="/chat", tags=["chat"])


@router.post("/messages", status_code=status.HTTP_201_CREATED, response_model=ChatTurnRead)
async def send_message(body: ChatMessageCreate, user: CurrentUser, chat: ChatServiceDep) -> ChatTurnRead:
    """Ask the assistant; without `session_id` a new session starts (titled by this message)."""
    turn = await chat.send(user=user, content=body.content, session_id=body.session_id)
    return ChatTurnRead.model_validate(message_payload(turn))


def _sse(event: dict[str, Any]) -> str:
    return f"event: {event['event']}\ndata: {json.dumps(event['data'])}\n\n"


@router.post(
    "/messages/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "start, delta…, done (or error)"}},
)
async def stream_message(
    body: ChatMessageCreate, user: CurrentUser, chat: ChatServiceDep
) -> StreamingResponse:
    """The same as POST /messages, answered as Server-Sent Events while it is generated."""
    events = chat.stream(user=user, content=body.content, session_id=body.session_id)
    first = await anext(events)  # rate limits and a missing session fail here, as a normal error

    async def body_iter() -> AsyncIterator[str]:
        yield _sse(first)
        async for event in events:
            yield _sse(event)

    return StreamingResponse(
        body_iter(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/sessions", response_model=ChatSessionPage)
def list_sessions(
    user: CurrentUser, chat: ChatServiceDep, limit: Limit = 20, cursor: Cursor = None
) -> ChatSessionPage:
    """Newest activity first."""
    items, next_cursor = chat.sessions_page(user_id=user.user_id, limit=limit, cursor=cursor)
    return ChatSessionPage(
        items=[ChatSessionRead.model_validate(s.model_dump()) for s in items], next_cursor=next_cursor
    )


@router.get("/sessions/{session_id}/messages", response_model=ChatMessagePage)
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


@router.delete("/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_session(session_id: SessionId, user: CurrentUser, chat: ChatServiceDep) -> Response:
    await run_in_threadpool(chat.delete_session, user_id=user.user_id, session_id=session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
