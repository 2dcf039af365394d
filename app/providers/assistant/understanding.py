"""Understanding: one user message (+ the session so far) becomes a structured request.

Pure and provider-independent: both the local and the Gemini assistant receive the same
`Request`. The technique is a rule grammar with priorities (see docs/ASSISTANT.md for why):
entities first (ingredients with fuzzy matching against the catalog, metrics, face areas,
time of day, pregnancy, red flags), then intent rules that may use those entities, then the
session history for "it"/"that" and short follow-ups. Runs offline in well under a millisecond
per rule set.
"""

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from app.providers.assistant.base import ChatTurn
from app.providers.assistant.entities import (
    PregnancyState,
    TimeOfDay,
    areas_in,
    has,
    metrics_in,
    normalise,
    pregnancy_state,
    superlative,
    time_of_day,
)
from app.providers.assistant.ingredient_names import find_ingredients, ingredient_name
from app.providers.assistant.lexicon import (
    GROUP_TERMS,
    OFF_TOPIC_WORDS,
    ORAL_RETINOIDS,
    PRONOUN_WORDS,
    RULES,
    SKIN_DOMAIN_WORDS,
)
from app.providers.assistant.safety import red_flags
from app.routine_engine import catalog

# Re-exported: callers (and tests) import the entity helpers from here, as before the split.
__all__ = [
    "PregnancyState",
    "Request",
    "TimeOfDay",
    "areas_in",
    "classify",
    "find_ingredients",
    "ingredient_name",
    "metrics_in",
    "normalise",
    "pregnancy_state",
    "superlative",
    "time_of_day",
    "understand",
]


# ---- the request ------------------------------------------------------------------------------


@dataclass
class Request:
    """What a message asks, in structured form (also sent to Gemini as part of its context)."""

    intent: str
    ingredients: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    areas: list[str] = field(default_factory=list)
    superlative: str | None = None
    time_of_day: TimeOfDay | None = None
    pregnancy: PregnancyState | None = None
    pregnancy_from_profile: bool = False
    red_flags: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    referent: str | None = None
    follow_up: bool = False

    @property
    def pregnancy_relevant(self) -> bool:
        """Pregnancy or breastfeeding is in play, from the message or the profile."""
        return self.pregnancy in {"pregnant", "breastfeeding", "trying"} or self.pregnancy_from_profile

    @property
    def subject_ingredients(self) -> list[str]:
        """The ingredients named, or the one 'it' refers to."""
        if self.ingredients and self.referent and self.intent == "interaction":
            return [self.referent, *self.ingredients]
        if self.ingredients:
            return self.ingredients
        return [self.referent] if self.referent else []

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, without empty fields."""
        return {k: v for k, v in asdict(self).items() if v not in (None, [], False)}


_COMPILED_RULES = tuple((name, tuple(re.compile(p) for p in patterns)) for name, patterns in RULES)


def classify(text: str) -> str:
    """The first rule that matches, or 'unknown'."""
    for name, patterns in _COMPILED_RULES:
        if any(p.search(text) for p in patterns):
            return name
    return "unknown"


def _is_off_topic(text: str, ingredients: list[str]) -> bool:
    """No skincare vocabulary at all, and something from another domain."""
    if ingredients or metrics_in(text) or re.search(SKIN_DOMAIN_WORDS, text):
        return False
    return bool(re.search(OFF_TOPIC_WORDS, text)) or _looks_general_request(text)


def _looks_general_request(text: str) -> bool:
    """A general-assistant command ('recommend', 'write', 'book', ...)."""
    return has(
        text, r"^(recommend|suggest|write|tell me a|who (is|was|won)|what time is|book|order|find me)\b"
    )


def _history_ingredients(history: list[ChatTurn]) -> str | None:
    """The ingredient the conversation was last about: the user's turns first, newest first."""
    for role in ("user", "assistant"):
        for turn in reversed(history):
            if turn.role == role:
                found = find_ingredients(normalise(turn.content))
                if found:
                    return found[0]
    return None


def _previous_user_intent(history: list[ChatTurn]) -> str | None:
    """The intent of the user's last turn."""
    for turn in reversed(history):
        if turn.role == "user":
            text = normalise(turn.content)
            if red_flags(text):
                return "red_flag"
            return classify(text)
    return None


def _short_follow_up(text: str) -> bool:
    """'and niacinamide?', 'what about tonight': a short continuation of the last question."""
    return len(text.split()) <= 5 and has(
        text,
        r"^(and|what about|how about|also|ok and|and what about|wbu)\b|"
        r"^\w+\?$",
    )


def understand(
    message: str, *, history: list[ChatTurn] | None = None, profile: dict[str, Any] | None = None
) -> Request:
    """The structured request for one message, using the session's earlier turns."""
    history = history or []
    profile = profile or {}
    text = normalise(message)
    pregnancy = pregnancy_state(text)
    from_profile = bool(profile.get("pregnant_or_breastfeeding"))
    flags = [f.category for f in red_flags(message, pregnant=pregnancy == "pregnant" or from_profile)]
    ingredients = find_ingredients(text)
    request = Request(
        intent="unknown",
        ingredients=ingredients,
        metrics=metrics_in(text),
        areas=areas_in(text),
        superlative=superlative(text),
        time_of_day=time_of_day(text),
        pregnancy=pregnancy,
        pregnancy_from_profile=from_profile,
        red_flags=flags,
        groups=list(dict.fromkeys(g for w, g in GROUP_TERMS.items() if re.search(rf"\b{w}\b", text))),
    )
    if not ingredients and re.search(PRONOUN_WORDS, text):
        request.referent = _history_ingredients(history)
    if flags:
        request.intent = "red_flag"
        return request
    if _is_off_topic(text, ingredients):
        request.intent = "off_topic"
        return request
    intent = classify(text)
    subject = request.subject_ingredients
    # Pregnancy in the message, or a pregnant user naming an ingredient that is not safe: the
    # question is a pregnancy-safety question whatever its wording ("tonight", "with", ...).
    if pregnancy and (subject or intent in {"ingredient_question", "routine", "unknown", "side_effects"}):
        intent = "pregnancy_safety" if intent != "cycle" else intent
    elif (
        from_profile and subject and any(_unsafe_in_pregnancy(s) for s in subject) and intent != "interaction"
    ):
        intent = "pregnancy_safety"
    elif intent == "interaction" and len(subject) < 2:
        request.referent = _partner(history, subject)
        if request.referent is None:
            intent = _single_ingredient_intent(text, subject)
    if intent == "routine" and subject and has(text, r"\b(can i|should i|is it ok|ok to|okay to)\b"):
        intent = "schedule"
    if len(subject) >= 2 and intent in {"routine", "unknown", "scores", "ingredient_question"}:
        intent = "interaction"  # two ingredients named together: whether they go together
    if intent == "plan" and subject and has(text, r"\bin (my|the|this) (plan|routine)\b"):
        intent = "ingredient_question"
    if (
        from_profile
        and intent not in {"pregnancy_safety", "cycle"}
        and any(_unsafe_in_pregnancy(s) for s in subject)
        and not (intent == "interaction" and len(subject) >= 2)
    ):
        intent = "pregnancy_safety"
    if (
        intent in {"unknown", "greeting"}
        and history
        and (request.metrics or request.areas or subject or _short_follow_up(text))
    ):
        previous = _previous_user_intent(history)
        if previous and previous not in {"greeting", "unknown", "off_topic", "red_flag"}:
            intent = previous
            request.follow_up = True
            if intent == "interaction" and len(ingredients) == 1:
                request.referent = _partner(history, ingredients)
    if intent == "unknown" and subject:
        intent = "ingredient_question"
    if intent == "unknown" and (request.metrics or request.areas or request.superlative):
        intent = "scores"
    request.follow_up = request.follow_up or bool(request.referent)
    request.intent = intent
    return request


def _partner(history: list[ChatTurn], named: list[str]) -> str | None:
    """'what about with niacinamide instead': the other ingredient of the last pairing asked about."""
    for turn in reversed(history):
        if turn.role == "user":
            earlier = [s for s in find_ingredients(normalise(turn.content)) if s not in named]
            if earlier:
                return earlier[0]
    return None


def _single_ingredient_intent(text: str, subject: list[str]) -> str:
    """'with' or 'and' but only one ingredient: what the rest of the message asks."""
    for name, patterns in _COMPILED_RULES:
        if name != "interaction" and any(p.search(text) for p in patterns):
            return name
    return "ingredient_question" if subject else "unknown"


def _unsafe_in_pregnancy(slug: str) -> bool:
    """Not marked 'safe' for pregnancy (oral retinoids included)."""
    if slug in ORAL_RETINOIDS:
        return True
    found = catalog.get(slug=slug)
    return bool(found and found.pregnancy != "safe")
