"""The assistant on AWS Bedrock: the Converse API (ConverseStream for SSE) through boto3.

Same contract as the Gemini provider: the user's grounded context goes in the system
prompt (`app.providers.assistant.prompt`), history as turns, never photos; the model's text
is untrusted (control characters dropped, capped); the safety layer runs around it. boto3
is blocking, so every call and every stream read runs in a worker thread.
"""

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

from anyio import to_thread

from app.core.config import Settings
from app.providers.assistant.base import ChatContext, ChatProviderError, ChatReply, ChatTurn
from app.providers.assistant.prompt import MAX_TURN_CHARS, build_system_instruction
from app.providers.assistant.safety import MAX_ANSWER_CHARS, clean_piece
from app.providers.bedrock import (
    CALL_ERRORS,
    UNDECODABLE_ERRORS,
    bedrock_runtime_client,
    describe_error,
    doctor_converse,
    is_transient,
)

logger = logging.getLogger("dermalens.chat.bedrock")

UNAVAILABLE = "assistant_unavailable"
INVALID_RESPONSE = "assistant_invalid_response"
# Answers that ended for any other reason (guardrail_intervened, content_filtered, tool_use) are not shown.
_FINISHED_OK = {"end_turn", "max_tokens", "stop_sequence"}
_DONE = object()


class BedrockChatProvider:
    """`ChatProvider` backed by a Bedrock model through Converse / ConverseStream."""

    name = "bedrock"

    def __init__(
        self, *, client: Any, model_id: str, max_tokens: int = 600, temperature: float = 0.4
    ) -> None:
        self._client = client
        self._model_id = model_id
        self._max_tokens = max_tokens
        self._temperature = temperature

    @classmethod
    def from_settings(cls, settings: Settings) -> "BedrockChatProvider":
        """The provider described by BEDROCK_* settings (credentials from the default chain)."""
        return cls(
            client=bedrock_runtime_client(settings),
            model_id=settings.bedrock_chat_model_id,
            max_tokens=settings.bedrock_chat_max_tokens,
        )

    def doctor_check(self) -> tuple[bool, str]:
        """Is the chat model reachable with this role? (1-token converse: bedrock:InvokeModel)."""
        return doctor_converse(client=self._client, model_id=self._model_id, what="chat")

    async def aclose(self) -> None:
        """Release the HTTP connections (called by the Container on shutdown)."""
        await to_thread.run_sync(self._client.close)

    async def _call(self, operation: str, request: dict[str, Any]) -> Any:
        """One bedrock-runtime call in a worker thread, its failures as `ChatProviderError`s."""
        method = getattr(self._client, operation)
        try:
            return await to_thread.run_sync(lambda: method(**request))
        except CALL_ERRORS as exc:
            raise _failed(exc) from exc
        except UNDECODABLE_ERRORS as exc:
            raise _invalid(f"undecodable answer ({type(exc).__name__})") from exc

    async def reply(self, *, message: str, context: ChatContext) -> ChatReply:
        """One whole answer, or `ChatProviderError`."""
        response = await self._call("converse", self._request(message=message, context=context))
        stop = response.get("stopReason") if isinstance(response, dict) else None
        if stop not in _FINISHED_OK:
            raise _invalid(f"answer stopped ({stop})")
        text = clean_piece(_text_of(response)).strip()[:MAX_ANSWER_CHARS].rstrip()
        if not text:
            raise _invalid("empty answer")
        return ChatReply(content=text, provider=self.name)

    async def stream(self, *, message: str, context: ChatContext) -> AsyncIterator[str]:
        """The answer in pieces as they arrive; a failure or a cut mid-answer raises `ChatProviderError`.

        The pieces already yielded stay yielded: the chat streamer stores exactly those,
        marked interrupted, so the history matches what the user saw.
        """
        response = await self._call("converse_stream", self._request(message=message, context=context))
        stream = response.get("stream") if isinstance(response, dict) else None
        if stream is None:
            raise _invalid("no event stream")
        events: Iterator[dict[str, Any]] = iter(stream)
        sent = 0
        stop: str | None = None
        try:
            while True:
                try:
                    event = await to_thread.run_sync(next, events, _DONE)
                except CALL_ERRORS as exc:
                    raise _failed(exc, streamed=sent) from exc
                except UNDECODABLE_ERRORS as exc:
                    raise _invalid(f"undecodable stream event ({type(exc).__name__})") from exc
                if event is _DONE:
                    break
                if not isinstance(event, dict):
                    raise _invalid("undecodable stream event")
                if "messageStop" in event:
                    stop = event["messageStop"].get("stopReason")
                    if stop not in _FINISHED_OK:
                        raise _invalid(f"answer stopped ({stop})")
                    continue
                delta = event.get("contentBlockDelta", {}).get("delta", {})
                piece = clean_piece(delta.get("text") or "")
                if not sent:
                    piece = piece.lstrip()  # nothing shown yet: no leading blank lines
                piece = piece[: MAX_ANSWER_CHARS - sent]
                if not piece:
                    continue
                sent += len(piece)
                yield piece
                if sent >= MAX_ANSWER_CHARS:
                    return
        finally:
            # Leaving early (cap reached, client gone, failure) releases the HTTP connection.
            # (Closed here, not in a thread: it only drops a socket, and must run even when cancelled.)
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        if stop is None:
            # The connection ended cleanly but before `messageStop`: the answer is cut short.
            raise _failed(ConnectionError("stream ended before messageStop"), streamed=sent)
        if not sent:
            raise _invalid("empty streamed answer")

    def _request(self, *, message: str, context: ChatContext) -> dict[str, Any]:
        return {
            "modelId": self._model_id,
            "system": [{"text": build_system_instruction(context)}],
            "messages": build_messages(message=message, history=context.history),
            "inferenceConfig": {"maxTokens": self._max_tokens, "temperature": self._temperature},
        }


def build_messages(*, message: str, history: list[ChatTurn]) -> list[dict[str, Any]]:
    """History then the new message, as Converse wants them: starting with the user, roles
    alternating (consecutive turns of one role are joined), no empty text blocks."""
    turns = [(turn.role, turn.content[:MAX_TURN_CHARS]) for turn in history] + [
        ("user", message[:MAX_TURN_CHARS])
    ]
    messages: list[dict[str, Any]] = []
    for role, text in turns:
        if not text.strip() or (not messages and role != "user"):
            continue
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"][0]["text"] += "\n\n" + text
        else:
            messages.append({"role": role, "content": [{"text": text}]})
    return messages


def _text_of(response: dict[str, Any]) -> str:
    """The text blocks of the output message, joined (other block kinds ignored)."""
    content = response.get("output", {}).get("message", {}).get("content", [])
    if not isinstance(content, list):
        return ""
    return "".join(
        block["text"] for block in content if isinstance(block, dict) and isinstance(block.get("text"), str)
    )


def _failed(exc: Exception, *, streamed: int = 0) -> ChatProviderError:
    """Transport failures, throttling and AWS errors alike: the assistant is unavailable."""
    kind = "transient" if is_transient(exc) else "configuration or request"
    logger.warning(
        "bedrock chat failed (%s, %s) after %d streamed characters", describe_error(exc), kind, streamed
    )
    return ChatProviderError(code=UNAVAILABLE)


def _invalid(reason: str) -> ChatProviderError:
    logger.warning("bedrock chat answered nothing usable: %s", reason)
    return ChatProviderError("The assistant could not answer that; try rephrasing.", code=INVALID_RESPONSE)
