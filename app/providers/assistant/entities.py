"""Entities in a normalised message: time of day, pregnancy, metrics, face areas, best/worst."""

import re
import unicodedata
from typing import Literal

from app.providers.assistant.lexicon import (
    AM_WORDS,
    AREA_WORDS,
    BREASTFEEDING_WORDS,
    METRIC_WORDS,
    NEGATED_WORDS,
    PM_WORDS,
    PREGNANT_WORDS,
    TRYING_WORDS,
)

TimeOfDay = Literal["am", "pm"]
PregnancyState = Literal["pregnant", "breastfeeding", "trying"]


def normalise(text: str) -> str:
    """Lowercase, accents folded, curly quotes straightened, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(text.lower().split())


def has(text: str, *patterns: str) -> bool:
    """Whether any of the patterns occurs in the text."""
    return any(re.search(p, text) for p in patterns)


def words_re(words: tuple[str, ...]) -> str:
    """One word-bounded alternation of the words, longest first."""
    return r"\b(" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\b"


def time_of_day(text: str) -> TimeOfDay | None:
    """'pm' for tonight/evening, 'am' for morning; the word 'am' in 'I am' is not a time."""
    pm, am = has(text, PM_WORDS), has(text, AM_WORDS)
    if pm and not am:
        return "pm"
    if am and not pm:
        return "am"
    return None


def pregnancy_state(text: str) -> PregnancyState | None:
    """Whether the message says the user is pregnant, breastfeeding or trying to conceive."""
    if has(text, BREASTFEEDING_WORDS) and not has(text, NEGATED_WORDS + r"(breast|nursing)"):
        return "breastfeeding"
    if has(text, TRYING_WORDS):
        return "trying"
    if has(text, PREGNANT_WORDS) and not has(text, NEGATED_WORDS + r"pregnan"):
        return "pregnant"
    return None


def metrics_in(text: str) -> list[str]:
    """Skin metrics the text names, in a fixed order."""
    return [m for m, words in METRIC_WORDS.items() if re.search(words_re(words), text)]


def areas_in(text: str) -> list[str]:
    """Face areas the text names."""
    return [a for a, words in AREA_WORDS.items() if re.search(words_re(words), text)]


def superlative(text: str) -> Literal["best", "worst"] | None:
    """Whether the question asks for the best or the worst (best wins when both: 'best and worst')."""
    best = has(
        text,
        r"\b(best|strongest|healthiest|doing (well|good|great)|good at|highest|"
        r"most improved|better than the rest)\b",
    )
    worst = has(
        text,
        r"\b(worst|weakest|lowest|biggest (problem|issue)|needs? (the most )?work|"
        r"most attention|bad|weakest|doing badly|focus on)\b",
    )
    if best and worst:
        return "best" if text.find("best") < text.find("worst") else "worst"
    return "best" if best else "worst" if worst else None
