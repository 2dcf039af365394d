"""One chat turn from start to store: what was prepared, what was answered, what was written.

`ChatService.send` and the streamed path share this pipeline: prepare (rate limit, session,
context) → answer (all at once, or piece by piece) → `TurnRecorder.record`.
"""

from dataclasses import dataclass, field
from typing import Any, Literal

from app.auth.models import UserRecord
from app.chat.repository import ChatMessageRecord, ChatRepository, ChatSessionRecord, SessionConflict
from app.core.errors import AccountGoneError, NotFoundError
from app.core.security import iso, new_id, utc_now
from app.db.guards import UserGoneError
from app.providers.assistant.base import ChatContext, ChatProvider, ChatReply
from app.providers.assistant.safety import RedFlag

PREVIEW_CHARS = 120


class SessionNotFoundError(NotFoundError):
    code = "session_not_found"
    message = "No such chat session."


@dataclass
class PreparedTurn:
    """A turn that passed the checks (rate limit, known session) and is ready to answer."""

    user: UserRecord
    content: str
    session_id: str
    # The summary a new session starts with; None for an existing session (its summary is
    # updated in place by the turn's transaction, never read first).
    new_session: ChatSessionRecord | None
    context: ChatContext
    provider: ChatProvider | None = None  # None: the configured one (else the user's, e.g. opted out)

    @property
    def is_new(self) -> bool:
        return self.new_session is not None


@dataclass
class Answer:
    """What the assistant said: the text shown (and stored), who said it, the safety flags."""

    text: str
    reply: ChatReply
    flags: list[RedFlag] = field(default_factory=list)
    interrupted: bool = False  # the client left mid-stream: `text` is what was streamed so far


@dataclass
class Turn:
    session_id: str
    user_message: ChatMessageRecord
    assistant_message: ChatMessageRecord


def message_payload(turn: Turn) -> dict[str, Any]:
    """The stored turn as the API shows it (no owner id)."""
    return {
        "session_id": turn.session_id,
        "user_message": turn.user_message.model_dump(exclude={"user_id"}),
        "assistant_message": turn.assistant_message.model_dump(exclude={"user_id"}),
    }


class TurnRecorder:
    """Writes both sides of a turn and the session summary together (blocking: run in a thread)."""

    def __init__(self, *, chat: ChatRepository) -> None:
        self._chat = chat

    def record(self, *, prepared: PreparedTurn, answer: Answer) -> Turn:
        """Store the turn; the session comes back with its new preview and count."""
        user_message = self._message(prepared=prepared, answer=answer, role="user", text=prepared.content)
        assistant_message = self._message(
            prepared=prepared,
            answer=answer,
            role="assistant",
            text=answer.text,
            provider=answer.reply.provider,
            intent=answer.reply.intent,
            context_refs=_context_refs(prepared.context),
            interrupted=answer.interrupted,
        )
        messages = [user_message, assistant_message]
        preview = answer.text[:PREVIEW_CHARS]
        try:
            if prepared.new_session is not None:
                session = prepared.new_session
                session.last_message_preview = preview
                session.last_activity_at = assistant_message.created_at
                self._chat.add_turn(
                    user_id=prepared.user.user_id, session=session, messages=messages, is_new=True
                )
            else:
                self._chat.add_to_session(
                    user_id=prepared.user.user_id,
                    session_id=prepared.session_id,
                    preview=preview,
                    messages=messages,
                )
        except SessionConflict as exc:
            raise SessionNotFoundError("The session was deleted meanwhile.") from exc
        except UserGoneError as exc:
            # The account was deleted (or is being deleted) while the answer was generated.
            raise AccountGoneError() from exc
        return Turn(
            session_id=prepared.session_id, user_message=user_message, assistant_message=assistant_message
        )

    @staticmethod
    def _message(
        *,
        prepared: PreparedTurn,
        answer: Answer,
        role: Literal["user", "assistant"],
        text: str,
        **extra: Any,
    ) -> ChatMessageRecord:
        return ChatMessageRecord(
            user_id=prepared.user.user_id,
            message_id=new_id(),
            session_id=prepared.session_id,
            role=role,
            content=text,
            created_at=iso(utc_now()),
            safety_flags=[f.category for f in answer.flags],
            **extra,
        )


def _context_refs(context: ChatContext) -> dict[str, str]:
    """Which scan and plan the answer was given about."""
    refs = {
        "scan_id": (context.latest_scan or {}).get("scan_id"),
        "plan_id": (context.plan or {}).get("plan_id"),
    }
    return {k: v for k, v in refs.items() if v}
