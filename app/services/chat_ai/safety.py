"""Safety rules every assistant answer goes through, whatever the provider.

Red flags are recognised in the user's message by patterns per category; a match puts
the category's advice at the top of the answer, every time. The patterns are deliberately
broad: a false alarm costs a sentence, a miss could cost much more.
"""

import re
import unicodedata
from dataclasses import dataclass

NOT_MEDICAL_ADVICE = (
    "_DermaLens gives general skincare information, not medical advice; "
    "a dermatologist can examine your skin._"
)
MAX_ANSWER_CHARS = 4000


@dataclass(frozen=True)
class RedFlag:
    category: str
    patterns: tuple[str, ...]
    advice: str


RED_FLAGS: tuple[RedFlag, ...] = (
    RedFlag(
        "changing_mole",
        (
            r"\bmoles?\b.*\b(bleed|bleeding|changing|changed|growing|grew|bigger|itch|itchy|irregular|dark(er|ening)|new|crust)",
            r"\b(bleed|bleeding|changing|changed|growing|itchy|irregular)\b.*\bmoles?\b",
            r"\bmelanoma\b",
            r"\b(spot|lesion|growth)\b.*\b(bleed|bleeding|won'?t heal|not healing|keeps? growing)",
        ),
        "A mole or spot that bleeds, changes, grows or looks irregular should be checked by a "
        "dermatologist soon: please book an appointment rather than treating it at home.",
    ),
    RedFlag(
        "infection",
        (
            r"\b(fever|chills)\b",
            r"\b(spreading|streaking)\b.*\b(red|redness|rash|swelling)",
            r"\b(red|redness|rash|swelling)\b.*\b(spreading|streaks?)\b",
            r"\b(pus|oozing|abscess|boil|cellulitis)\b",
            r"\bhot (and|&) (swollen|painful)\b",
        ),
        "Spreading redness, warmth, pus or a fever can mean an infection: see a doctor or urgent "
        "care today; do not wait for your next scan.",
    ),
    RedFlag(
        "eye_swelling",
        (
            r"\b(eye|eyes|eyelids?)\b.*\b(swell|swelling|swollen|puffy shut|can'?t open)",
            r"\b(swell|swelling|swollen)\b.*\b(eye|eyes|eyelids?|face|lips?|tongue|throat)\b",
            r"\b(hard|difficult|trouble) (to )?breath",
            r"\banaphyla",
        ),
        "Swelling of the eyes, lips, tongue or throat, or trouble breathing, needs urgent care: "
        "call emergency services if breathing is affected. Stop the product and do not reapply it.",
    ),
    RedFlag(
        "severe_reaction",
        (
            r"\b(severe|intense|unbearable|extreme)\b.*\b(burn|burning|sting|stinging|pain|reaction|rash)",
            r"\b(blister|blisters|blistering|peeling off in sheets|raw skin|chemical burn|open sores?)\b",
            r"\b(burn|burning)\b.*\b(won'?t stop|for hours|all day)",
        ),
        "Stop every active product now (keep only a gentle cleanser, a plain moisturiser and "
        "sunscreen). Severe burning, blistering or raw skin should be seen by a dermatologist or "
        "urgent care; report it as an adverse reaction in your plan check-in.",
    ),
    RedFlag(
        "self_harm",
        (
            r"\b(kill myself|suicid|end my life|want to die|self[- ]harm|hurt myself)\b",
            r"\b(hate|disgusted by) (my|how i) (face|skin|look)\b.*\b(can'?t go on|no point|give up)",
            r"\bno point (in )?living\b",
        ),
        "I'm really sorry you're feeling this way. You deserve support right now: please reach out "
        "to someone you trust, or a crisis line (in the US call or text 988; elsewhere your local "
        "emergency number or findahelpline.com). A doctor can help with both your skin and how "
        "you feel.",
    ),
)

_COMPILED = tuple((flag, tuple(re.compile(p, re.IGNORECASE) for p in flag.patterns)) for flag in RED_FLAGS)
# C0/C1 controls except tab and newline, plus bidi overrides that can disguise text.
_UNSAFE_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def red_flags(message: str) -> list[RedFlag]:
    """The red-flag categories a message touches, in a fixed order."""
    text = unicodedata.normalize("NFKC", message)
    return [flag for flag, patterns in _COMPILED if any(p.search(text) for p in patterns)]


def safety_preamble(flags: list[RedFlag]) -> str:
    """What goes above the answer when a red flag is present."""
    if not flags:
        return ""
    lines = ["**Please read this first.** " + flags[0].advice, *(f.advice for f in flags[1:])]
    return "\n\n".join(lines) + "\n\n"


def clean_output(text: str) -> str:
    """Model output is untrusted text: no control characters, bounded length."""
    text = clean_piece(unicodedata.normalize("NFKC", text)).strip()
    if len(text) > MAX_ANSWER_CHARS:
        text = text[: MAX_ANSWER_CHARS - 1].rstrip() + "…"
    return text


def clean_piece(piece: str) -> str:
    """Control and bidi characters removed, CRLF made LF; nothing else touched, so pieces join exactly."""
    return _UNSAFE_CHARS.sub("", piece.replace("\r\n", "\n"))


def closing_note(flags: list[RedFlag], body: str, *, medical_topic: bool = True) -> str:
    """The "not medical advice" line, when the topic calls for it and it is not there yet."""
    if (flags or medical_topic) and NOT_MEDICAL_ADVICE not in body:
        return f"\n\n{NOT_MEDICAL_ADVICE}"
    return ""


def finalize(answer: str, flags: list[RedFlag], *, medical_topic: bool) -> str:
    """Preamble for red flags + the cleaned answer + the note where relevant."""
    body = clean_output(answer)
    return safety_preamble(flags) + body + closing_note(flags, body, medical_topic=medical_topic)
