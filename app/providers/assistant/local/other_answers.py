"""The other answers: the menstrual cycle, off-topic, greetings, red flags (normally the safety layer's), unknown."""

from app.providers.assistant.base import ChatContext
from app.providers.assistant.local import phrases
from app.providers.assistant.safety import REFERRAL_LINE
from app.providers.assistant.understanding import Request


def cycle(request: Request, context: ChatContext) -> str:
    """Period-related breakouts: what helps, and what cycle tracking would add."""
    lines = [
        phrases.CYCLE_WHY,
        phrases.CYCLE_WHAT_HELPS,
    ]
    acne = ((context.latest_scan or {}).get("scores") or {}).get("acne")
    if acne is not None:
        lines.append(f"Your latest acne score is {acne:.0f}/100.")
    lines.append(phrases.CYCLE_NO_DATA)
    lines.append(phrases.CYCLE_SEE_A_DOCTOR)
    return "\n".join(lines)


def off_topic(request: Request, context: ChatContext) -> str:
    """A polite refusal for questions outside skincare."""
    return phrases.OFF_TOPIC


def greeting(request: Request, context: ChatContext) -> str:
    """A greeting by first name, with what to ask."""
    name = context.profile.get("full_name")
    hello = f"Hi {name.split()[0]}!" if name else "Hi!"
    return f"{hello} Ask me about your scores, today's routine, your progress, or whether two ingredients go together."


def red_flag(request: Request, context: ChatContext) -> str:
    """A see-a-doctor line (the safety layer normally answers first)."""
    # Normally answered by the safety layer before any provider; kept for direct calls.
    return f"{phrases.SEE_A_DOCTOR} {REFERRAL_LINE}"


def unknown(request: Request, context: ChatContext) -> str:
    """An honest 'not sure', with what it can help with."""
    return phrases.NOT_SURE
