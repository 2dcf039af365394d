"""The assistant on Gemini: the user's context in the system instruction, history as turns.

Only derived data about the user is sent (scores, plan, adherence, profile without the
name), never photos. The model's text is untrusted: control characters are dropped and the
answer is capped. The safety layer around every provider still runs on top of this.
"""

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import cast

from google import genai
from google.genai import types

from app.core.config import Settings
from app.providers.assistant.base import ChatContext, ChatProviderError, ChatReply, ChatTurn
from app.providers.assistant.prompt import MAX_TURN_CHARS, build_system_instruction
from app.providers.assistant.safety import MAX_ANSWER_CHARS, clean_piece
from app.providers.gemini import (
    DEFAULT_DEADLINE_SECONDS,
    UNAVAILABLE_ERRORS,
    UNDECODABLE_ERRORS,
    describe_error,
    gemini_client_from_settings,
    gemini_doctor_check,
)

logger = logging.getLogger("dermalens.chat.gemini")

UNAVAILABLE = "assistant_unavailable"
INVALID_RESPONSE = "assistant_invalid_response"
MAX_REPLY_CHARS = MAX_ANSWER_CHARS
# A reply that ended for any other reason (SAFETY, RECITATION, ...) is not shown.
_FINISHED_OK = {None, types.FinishReason.STOP, types.FinishReason.MAX_TOKENS}


class GeminiChatProvider:
    """`ChatProvider` backed by Gemini (async client; never blocks the event loop).

    `deadline_seconds` bounds one answer whatever the SDK does inside it (attempts, backoff,
    a server that trickles bytes): a reply, and a stream's first piece, arrive within it or the
    call is cancelled and fails as `ChatProviderError`; so does a stream idle for that long.
    """

    name = "gemini"

    def __init__(
        self,
        *,
        client: genai.Client,
        model: str,
        temperature: float = 0.4,
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
    ) -> None:
        self._client = client
        self._model = model
        self._temperature = temperature
        self._deadline = deadline_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> "GeminiChatProvider":
        """The provider described by GEMINI_* settings."""
        return cls(
            client=gemini_client_from_settings(settings),
            model=settings.gemini_model,
            deadline_seconds=settings.gemini_deadline_seconds,
        )

    def doctor_check(self) -> tuple[bool, str]:
        """Is the model reachable with this key? (a models.get call: no tokens spent)."""
        return gemini_doctor_check(self._client, self._model)

    async def aclose(self) -> None:
        """Release the async HTTP connections."""
        await self._client.aio.aclose()

    async def reply(self, *, message: str, context: ChatContext) -> ChatReply:
        """One whole answer, or `ChatProviderError`."""
        try:
            async with asyncio.timeout(self._deadline):
                response = await self._client.aio.models.generate_content(
                    model=self._model,
                    contents=build_contents(message=message, history=context.history),
                    config=self._config(context),
                )
        except TimeoutError as exc:
            raise _timed_out(self._deadline) from exc
        except UNAVAILABLE_ERRORS as exc:
            raise _unavailable(exc) from exc
        except UNDECODABLE_ERRORS as exc:
            raise _invalid(f"undecodable HTTP body ({type(exc).__name__})") from exc
        _check_finished(response)
        text = clean_piece(_text_of(response)).strip()[:MAX_REPLY_CHARS].rstrip()
        if not text:
            raise _invalid("empty answer")
        return ChatReply(content=text, provider=self.name)

    async def stream(self, *, message: str, context: ChatContext) -> AsyncIterator[str]:
        """The answer in pieces as they arrive; a failure mid-answer raises `ChatProviderError`."""
        sent = 0
        loop = asyncio.get_running_loop()
        # The call and its first piece share one deadline; every later piece gets its own.
        first_by = loop.time() + self._deadline
        try:
            async with asyncio.timeout_at(first_by):
                chunks = await self._client.aio.models.generate_content_stream(
                    model=self._model,
                    contents=build_contents(message=message, history=context.history),
                    config=self._config(context),
                )
            # aclosing: leaving early (cap reached, client gone) still frees the connection.
            # The SDK annotates an AsyncIterator but returns an async generator (it has aclose).
            stream = cast(AsyncGenerator[types.GenerateContentResponse, None], chunks)
            async with aclosing(stream):
                while True:
                    # The timeout wraps the wait for one piece only, never a `yield`: the
                    # consumer's time between pieces is not ours to cancel.
                    try:
                        async with asyncio.timeout_at(first_by if not sent else loop.time() + self._deadline):
                            chunk = await anext(stream)
                    except StopAsyncIteration:
                        break
                    _check_finished(chunk)
                    piece = clean_piece(_text_of(chunk))
                    if not sent:
                        piece = piece.lstrip()  # nothing shown yet: no leading blank lines
                    piece = piece[: MAX_REPLY_CHARS - sent]
                    if not piece:
                        continue
                    sent += len(piece)
                    yield piece
                    if sent >= MAX_REPLY_CHARS:
                        break
        except TimeoutError as exc:
            raise _timed_out(self._deadline) from exc
        except UNAVAILABLE_ERRORS as exc:
            raise _unavailable(exc) from exc
        except UNDECODABLE_ERRORS as exc:
            raise _invalid(f"undecodable stream event ({type(exc).__name__})") from exc
        if not sent:
            raise _invalid("empty streamed answer")

    def _config(self, context: ChatContext) -> types.GenerateContentConfig:
        return types.GenerateContentConfig(
            system_instruction=build_system_instruction(context),
            temperature=self._temperature,
            # One request per call: our retry policy (HttpOptions) is the only one.
            automatic_continuation=False,
        )


def build_contents(*, message: str, history: list[ChatTurn]) -> list[types.Content]:
    """History turns (assistant → "model") followed by the new message."""
    turns = [(turn.role, turn.content) for turn in history] + [("user", message)]
    return [
        types.Content(
            role="model" if role == "assistant" else "user",
            parts=[types.Part.from_text(text=text[:MAX_TURN_CHARS])],
        )
        for role, text in turns
        if text.strip()
    ]


def _text_of(response: types.GenerateContentResponse) -> str:
    """The first candidate's visible text (thoughts excluded); empty if there is none."""
    return response.text or ""


def _check_finished(response: types.GenerateContentResponse) -> None:
    """Blocked prompts and answers stopped for safety or recitation are not shown."""
    if response.prompt_feedback and response.prompt_feedback.block_reason:
        raise _invalid(f"prompt blocked ({response.prompt_feedback.block_reason})")
    candidate = response.candidates[0] if response.candidates else None
    if candidate is not None and candidate.finish_reason not in _FINISHED_OK:
        raise _invalid(f"answer stopped ({candidate.finish_reason})")


def _unavailable(exc: Exception) -> ChatProviderError:
    logger.warning("gemini chat unavailable: %s", describe_error(exc))
    return ChatProviderError(code=UNAVAILABLE)


def _timed_out(deadline: float) -> ChatProviderError:
    logger.warning("gemini chat gave no answer within %ss", deadline)
    return ChatProviderError(
        "The assistant did not answer in time; try again shortly.",
        code=UNAVAILABLE,
        details={"reason": "timeout", "deadline_seconds": deadline},
    )


def _invalid(reason: str) -> ChatProviderError:
    logger.warning("gemini chat answered nothing usable: %s", reason)
    return ChatProviderError("The assistant could not answer that; try rephrasing.", code=INVALID_RESPONSE)
