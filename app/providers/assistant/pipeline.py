"""The one path every message takes, whatever the provider: understand, screen, then answer.

`screen` runs before any provider: it turns the message into a structured request (stored
on the context, so the provider sees it too) and decides whether the safety layer answers
by itself (a red flag) and which pregnancy cautions go above the provider's answer.
"""

import logging
from dataclasses import dataclass

from app.providers.assistant.base import ChatContext, ChatProvider, ChatProviderError, ChatReply
from app.providers.assistant.safety import (
    RedFlag,
    caution_preamble,
    finalize,
    flag_by_category,
    pregnancy_cautions,
    safety_answer,
)
from app.providers.assistant.understanding import Request, understand

logger = logging.getLogger("dermalens.chat")

SAFETY_PROVIDER = "safety"
MEDICAL_INTENTS = {
    "side_effects",
    "ingredient_question",
    "interaction",
    "routine",
    "schedule",
    "scores",
    "pregnancy_safety",
    "cycle",
    "red_flag",
}


@dataclass
class Screened:
    request: Request
    flags: list[RedFlag]
    answer: str | None  # set when the safety layer answers by itself
    preamble: str  # pregnancy cautions above a provider's answer

    @property
    def medical_topic(self) -> bool:
        return self.request.intent in MEDICAL_INTENTS or bool(self.preamble)

    def finish(self, body: str) -> str:
        """The stored and shown answer: cautions, the body, the not-medical-advice note."""
        return finalize(body, self.flags, medical_topic=self.medical_topic, preamble=self.preamble)


def screen(*, message: str, context: ChatContext) -> Screened:
    """Understanding and safety for one message; puts the request on the context."""
    request = understand(message, history=context.history, profile=context.profile)
    context.request = request.as_dict()
    flags = [flag_by_category(c) for c in request.red_flags]
    subject = request.subject_ingredients
    if request.intent == "pregnancy_safety" and not subject:
        subject = _plan_slugs(context)
    cautions = pregnancy_cautions(subject, state=request.pregnancy) if request.pregnancy_relevant else []
    if flags:
        return Screened(
            request=request, flags=flags, answer=safety_answer(flags, extra=cautions), preamble=""
        )
    return Screened(request=request, flags=[], answer=None, preamble=caution_preamble(cautions))


async def respond(
    *, provider: ChatProvider, message: str, context: ChatContext, fallback: ChatProvider | None = None
) -> tuple[Screened, ChatReply]:
    """Screen, then ask the provider (or its fallback) unless the safety layer already answered."""
    screened = screen(message=message, context=context)
    if screened.answer is not None:
        reply = ChatReply(content=screened.answer, provider=SAFETY_PROVIDER, intent="red_flag")
    else:
        try:
            reply = await provider.reply(message=message, context=context)
        except ChatProviderError:
            if fallback is None:
                raise
            logger.warning("assistant provider failed; answering with the fallback")
            reply = await fallback.reply(message=message, context=context)
        reply.intent = reply.intent or screened.request.intent
    reply.content = screened.finish(reply.content)
    return screened, reply


def _plan_slugs(context: ChatContext) -> list[str]:
    plan = context.plan or {}
    steps = plan.get("am", []) + plan.get("pm", []) + [t["step"] for t in plan.get("night_treatments", [])]
    return list(dict.fromkeys(slug for step in steps for slug in step.get("key_ingredients", [])))
