"""A prepared turn answered as events while it is generated; what is stored is what was streamed."""

import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import suppress
from typing import Any

from anyio import CancelScope, to_thread

from app.chat.turns import Answer, PreparedTurn, Turn, TurnRecorder, message_payload
from app.core.errors import DomainError
from app.providers.assistant.base import ChatContext, ChatProvider, ChatProviderError, ChatReply
from app.providers.assistant.pipeline import SAFETY_PROVIDER, Screened, screen
from app.providers.assistant.safety import clean_piece, closing_note

logger = logging.getLogger("dermalens.chat")


def _words(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text)


class TurnStreamer:
    """`start`, `delta` pieces, then `done` with the stored messages (or `error`)."""

    def __init__(
        self, *, provider: ChatProvider, recorder: TurnRecorder, fallback: ChatProvider | None = None
    ) -> None:
        self._provider = provider
        self._recorder = recorder
        self._fallback = fallback

    async def events(self, *, prepared: PreparedTurn) -> AsyncGenerator[dict[str, Any], None]:
        """The events of a prepared turn; the safety layer runs first, as for a sent message.

        A client that goes away mid-stream still gets a whole turn in its history: what was
        generated so far, marked `interrupted`.
        """
        screened = screen(message=prepared.content, context=prepared.context)
        provider_name = SAFETY_PROVIDER if screened.answer is not None else self._provider.name
        answer = Answer(
            text="",
            reply=ChatReply(content="", provider=provider_name, intent=screened.request.intent),
            flags=screened.flags,
        )
        streamed: list[str] = []
        finished = False
        yield {"event": "start", "data": {"session_id": prepared.session_id}}
        try:
            async for piece in self._pieces(
                screened=screened, content=prepared.content, context=prepared.context, answer=answer
            ):
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
                answer.text, answer.interrupted = "".join(streamed), True
                # Nobody is listening any more: a refused write (session or account gone) is final.
                with CancelScope(shield=True), suppress(DomainError):
                    await self._record(prepared=prepared, answer=answer)
        answer.text = "".join(streamed)
        try:
            turn = await self._record(prepared=prepared, answer=answer)
        except DomainError as exc:  # the session or the account went away while answering
            yield {"event": "error", "data": {"code": exc.code, "message": exc.message}}
            return
        yield {"event": "done", "data": message_payload(turn)}

    async def _record(self, *, prepared: PreparedTurn, answer: Answer) -> Turn:
        return await to_thread.run_sync(lambda: self._recorder.record(prepared=prepared, answer=answer))

    async def _pieces(
        self, *, screened: Screened, content: str, context: ChatContext, answer: Answer
    ) -> AsyncIterator[str]:
        """The safety layer's own answer word by word, or its cautions followed by the provider's pieces.

        A provider that fails before its first piece (down, throttled) is replaced by the
        fallback, as for a sent message; once it has streamed, a failure ends the turn there.
        """
        if screened.answer is not None:
            for piece in _words(screened.answer):
                yield piece
            return
        if screened.preamble:
            yield screened.preamble
        started = False
        try:
            async for piece in self._provider.stream(message=content, context=context):
                started = True
                yield piece
        except ChatProviderError:
            if started or self._fallback is None:
                raise
            logger.warning("assistant provider failed before streaming; answering with the fallback")
            answer.reply.provider = self._fallback.name
            async for piece in self._fallback.stream(message=content, context=context):
                yield piece
