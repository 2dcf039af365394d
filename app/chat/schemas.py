"""Chat request/response models."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.schemas import ULID_PATTERN

MAX_MESSAGE_CHARS = 2000


class ChatMessageCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"content": "Can I use vitamin C in the morning with my plan?"}]},
    )

    content: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_MESSAGE_CHARS)
    ]
    session_id: str | None = Field(None, pattern=ULID_PATTERN, description="Omit to start a new session.")


class ChatMessageRead(BaseModel):
    message_id: str
    session_id: str
    role: Literal["user", "assistant"]
    content: str
    created_at: str
    provider: str | None = None
    intent: str | None = None
    safety_flags: list[str] = Field(default_factory=list)
    context_refs: dict[str, str] = Field(default_factory=dict)
    interrupted: bool = False


class ChatTurnRead(BaseModel):
    session_id: str
    user_message: ChatMessageRead
    assistant_message: ChatMessageRead


class ChatSessionRead(BaseModel):
    session_id: str
    title: str
    created_at: str
    last_activity_at: str
    last_message_preview: str
    message_count: int


class ChatSessionPage(BaseModel):
    items: list[ChatSessionRead]
    next_cursor: str | None = None


class ChatMessagePage(BaseModel):
    items: list[ChatMessageRead]
    next_cursor: str | None = None
