"""The other answers: the menstrual cycle, off-topic, greetings, red flags (normally the safety layer's), unknown."""

from app.providers.assistant.base import ChatContext
from app.providers.assistant.understanding import Request


def cycle(request: Request, context: ChatContext) -> str:
    """Period-related breakouts: what helps, and what cycle tracking would add."""
    lines = [
        "Breakouts in the week before a period are common: hormone shifts in the second half of the cycle "
        "raise oil production, usually along the chin and jawline.",
        "What helps: keep your routine steady rather than adding harsh products; a BHA (salicylic acid) or "
        "benzoyl peroxide on the chin and jaw in the days before your period; don't pick; and keep moisturising.",
    ]
    acne = ((context.latest_scan or {}).get("scores") or {}).get("acne")
    if acne is not None:
        lines.append(f"Your latest acne score is {acne:.0f}/100.")
    lines.append(
        "I don't have any cycle data for you yet, so I can't link your breakouts to your cycle. Logging your "
        "period dates (cycle tracking) would let me compare your scans with your cycle phase and tell whether "
        "your flare-ups follow it, and when to expect the next one."
    )
    lines.append(
        "If breakouts are deep and painful, or come with irregular periods or extra hair growth, a doctor can check "
        "for a hormonal cause."
    )
    return "\n".join(lines)


def off_topic(request: Request, context: ChatContext) -> str:
    """A polite refusal for questions outside skincare."""
    return (
        "Sorry, I can't help with that: I'm DermaLens's skincare assistant, so I only know about skin. "
        "Ask me about your scan scores, your routine and plan, ingredients, or side effects."
    )


def greeting(request: Request, context: ChatContext) -> str:
    """A greeting by first name, with what to ask."""
    name = context.profile.get("full_name")
    hello = f"Hi {name.split()[0]}!" if name else "Hi!"
    return f"{hello} Ask me about your scores, today's routine, your progress, or whether two ingredients go together."


def red_flag(request: Request, context: ChatContext) -> str:
    """A see-a-doctor line (the safety layer normally answers first)."""
    # Normally answered by the safety layer before any provider; kept for direct calls.
    return "Please see a dermatologist or a doctor about this; I can't assess it from here."


def unknown(request: Request, context: ChatContext) -> str:
    """An honest 'not sure', with what it can help with."""
    return (
        "I'm not sure about that one, and I'd rather say so than guess. I can help with your scan scores, "
        "your progress, today's routine, your plan and its lock, ingredients and whether they can be combined, "
        "side effects, sunscreen and when to scan again."
    )
