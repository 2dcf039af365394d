"""The local provider: routes a request to the answer for its intent."""

import asyncio
import re
from collections.abc import AsyncIterator, Callable

from app.providers.assistant.base import ChatContext, ChatReply
from app.providers.assistant.local import ingredient_answers, other_answers, plan_answers, scan_answers
from app.providers.assistant.understanding import Request, understand

Handler = Callable[[Request, ChatContext], str]

HANDLERS: dict[str, Handler] = {
    "interaction": ingredient_answers.interaction,
    "side_effects": ingredient_answers.side_effects,
    "sunscreen": ingredient_answers.sunscreen,
    "rescan": scan_answers.rescan,
    "last_scan": scan_answers.last_scan,
    "progress": scan_answers.progress,
    "routine": plan_answers.routine,
    "schedule": plan_answers.schedule,
    "plan": plan_answers.plan_status,
    "adherence": plan_answers.adherence,
    "scores": scan_answers.scan_scores,
    "ingredient_question": ingredient_answers.ingredient_facts,
    "pregnancy_safety": ingredient_answers.pregnancy_safety,
    "cycle": other_answers.cycle,
    "skin_log": other_answers.skin_logs,
    "off_topic": other_answers.off_topic,
    "greeting": other_answers.greeting,
    "red_flag": other_answers.red_flag,
}


def request_of(message: str, context: ChatContext) -> Request:
    """The request the safety layer already worked out, or a fresh one (direct calls, tests)."""
    if context.request:
        return Request(**context.request)
    return understand(message, history=context.history, profile=context.profile)


class LocalChatProvider:
    """Grounded, deterministic, offline."""

    name = "local"

    def doctor_check(self) -> tuple[bool, str]:
        """Offline and deterministic: always ready."""
        return True, "local assistant: offline, nothing to reach"

    async def reply(self, *, message: str, context: ChatContext) -> ChatReply:
        """The answer for the message's intent, built from the user's own data."""
        request = request_of(message, context)
        handler = HANDLERS.get(request.intent, other_answers.unknown)
        return ChatReply(content=handler(request, context), provider=self.name, intent=request.intent)

    async def stream(self, *, message: str, context: ChatContext) -> AsyncIterator[str]:
        """The same answer, word by word."""
        reply = await self.reply(message=message, context=context)
        for piece in re.findall(r"\S+\s*|\s+", reply.content):
            yield piece
            await asyncio.sleep(0)
