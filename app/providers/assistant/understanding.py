"""Understanding: one user message (+ the session so far) becomes a structured request.

Pure and provider-independent: both the local and the Gemini assistant receive the same
`Request`. The technique is a rule grammar with priorities (see docs/ASSISTANT.md for why):
entities first (ingredients with fuzzy matching against the catalog, metrics, face areas,
time of day, pregnancy, red flags), then intent rules that may use those entities, then the
session history for "it"/"that" and short follow-ups. Runs offline in well under a millisecond
per rule set.
"""

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, Literal

from app.providers.assistant.base import ChatTurn
from app.providers.assistant.safety import red_flags
from app.routine_engine import catalog
from app.routine_engine.names import name_key

TimeOfDay = Literal["am", "pm"]
PregnancyState = Literal["pregnant", "breastfeeding", "trying"]

# ---- entity lexicons --------------------------------------------------------------------------

METRIC_WORDS: dict[str, tuple[str, ...]] = {
    "acne": (
        "acne",
        "breakout",
        "breakouts",
        "breaking out",
        "break out",
        "broke out",
        "pimple",
        "pimples",
        "spots",
        "zits",
        "zit",
        "blemish",
        "blemishes",
        "whiteheads",
        "cystic",
    ),
    "redness": ("redness", "flushing", "rosacea", "red cheeks", "red patches"),
    "oiliness": ("oily", "oiliness", "shine", "shiny", "greasy", "sebum", "oil control"),
    "hydration": ("hydration", "dry", "dryness", "dehydrated", "tight", "flaky", "hydrated", "moisture"),
    "pores": ("pores", "pore", "blackheads", "blackhead"),
    "wrinkles": ("wrinkles", "wrinkle", "fine lines", "aging", "ageing", "crows feet", "anti aging"),
    "pigmentation": (
        "pigmentation",
        "dark spots",
        "dark spot",
        "hyperpigmentation",
        "melasma",
        "sun spots",
        "acne marks",
        "marks",
        "discoloration",
        "discolouration",
        "pih",
    ),
    "dark_circles": ("dark circles", "under eye", "under-eye", "undereye", "eye bags"),
    "texture": ("texture", "rough", "bumpy", "uneven texture", "smoothness"),
    "evenness": ("evenness", "uneven", "skin tone", "dull", "dullness", "glow"),
}
AREA_WORDS: dict[str, tuple[str, ...]] = {
    "forehead": ("forehead",),
    "cheeks": ("cheek", "cheeks"),
    "nose": ("nose",),
    "chin": ("chin", "jawline", "jaw"),
    "t_zone": ("t-zone", "t zone", "tzone"),
}
# Words people use for an ingredient that the catalog does not list as aliases.
SYNONYMS: dict[str, str] = {
    "bp": "benzoyl_peroxide",
    "bpo": "benzoyl_peroxide",
    "benzoyl": "benzoyl_peroxide",
    "tret": "tretinoin",
    "retin a": "tretinoin",
    "retin-a": "tretinoin",
    "differin": "adapalene",
    "vit c": "l_ascorbic_acid",
    "vitamin c": "l_ascorbic_acid",
    "niacin": "niacinamide",
    "bha": "salicylic_acid",
    "aha": "glycolic_acid",
    "retinoid": "retinol",
    "retinoids": "retinol",
    "accutane": "isotretinoin",
    "isotretinoin": "isotretinoin",
    "hq": "hydroquinone",
    "cica": "centella_asiatica",
    "snail": "snail_secretion_filtrate",
    "azelaic": "azelaic_acid",
    "salicylic": "salicylic_acid",
    "glycolic": "glycolic_acid",
    "hyaluronic": "hyaluronic_acid",
    "tranexamic": "tranexamic_acid",
}
# Generic words for an ingredient family: "my retinoid" means whichever retinoid the plan uses.
GROUP_TERMS: dict[str, str] = {
    "retinoid": "retinoid",
    "retinoids": "retinoid",
    "bha": "bha",
    "aha": "aha",
    "exfoliant": "exfoliating_acid",
    "exfoliation": "exfoliating_acid",
    "exfoliating": "exfoliating_acid",
}
# Not in the topical catalog, but must never be treated as unknown: handled as retinoids.
ORAL_RETINOIDS = {"isotretinoin"}
# Words that look like ingredient names to a fuzzy matcher but are ordinary English.
# fmt: off
_NOT_INGREDIENTS = frozenset({
    "acid", "acids", "alcohol", "aloe", "and", "are", "butter", "caffeine", "can", "capb", "citric",
    "coconut", "cream", "day", "edta", "extract", "face", "feeling", "for", "fragrance", "gel",
    "glycerin", "green", "ha", "how", "hpr", "ipm", "jojoba", "laa", "lactic", "lavender", "lemon",
    "lime", "lye", "map", "mi", "mineral", "mit", "my", "night", "oat", "oil", "oils", "omc",
    "orange", "pca", "peeling", "peppermint", "perfume", "pg", "pha", "really", "retain", "retina",
    "retinal", "return", "safe", "same", "sap", "serum", "shea", "sheet", "silicone", "skin",
    "sles", "sls", "sodium", "squalane", "sulfur", "sulphur", "tea", "that", "the", "this", "time",
    "urea", "use", "vitamin", "water", "what", "why", "with", "you"
})
# fmt: on
# fmt: off
_TRUSTED_SHORT_NAMES = frozenset({
    "aloe", "caffeine", "glycerin", "jojoba", "lactic", "retinal", "squalane", "sulfur", "sulphur",
    "urea"
})
# fmt: on
# fmt: off
_GENERIC_WORDS = frozenset({
    "acetyl", "acid", "alcohol", "alpha", "ap", "ascorbyl", "beta", "butter", "ceramide", "citrus",
    "copper", "crosspolymer", "d", "essential", "ethyl", "extract", "fatty", "flour", "free",
    "fruit", "green", "hydrolyzed", "iron", "juice", "kernel", "l", "leaf", "liquid", "magnesium",
    "np", "ns", "oat", "octyl", "oil", "olive", "palmitoyl", "peel", "powder", "pure", "root", "sd",
    "seed", "sodium", "tea", "titanium", "vitamin", "white", "zinc"
})
# fmt: on

# ---- small helpers ----------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Lowercase, accents folded, curly quotes straightened, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(text.lower().split())


def _has(text: str, *patterns: str) -> bool:
    return any(re.search(p, text) for p in patterns)


def _words_re(words: tuple[str, ...]) -> str:
    return r"\b(" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\b"


# ---- ingredients ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _word_index() -> dict[str, str]:
    """Distinctive single words → slug ('salicylic' → salicylic_acid), for exact and fuzzy lookup."""
    owners: dict[str, set[str]] = {}
    for ingredient in catalog.all_ingredients():
        terms = [
            ingredient.name,
            ingredient.inci_name,
            *ingredient.aliases,
            ingredient.slug.replace("_", " "),
        ]
        for term in terms:
            for word in name_key(term).split():
                if len(word) >= 5 and word not in _GENERIC_WORDS and not word.isdigit():
                    owners.setdefault(word, set()).add(ingredient.slug)
    index = {w: next(iter(s)) for w, s in owners.items() if len(s) == 1}
    index.update(
        {
            k: v
            for k, v in SYNONYMS.items()
            if " " not in k and v in {i.slug for i in catalog.all_ingredients()}
        }
    )
    return index


def _resolve_phrase(phrase: str) -> str | None:
    if phrase in SYNONYMS:
        return SYNONYMS[phrase]
    ingredient = catalog.resolve(name=phrase)
    return ingredient.slug if ingredient else None


def find_ingredients(text: str) -> list[str]:
    """Slugs named in the text: 1-4 word windows against the catalog, then fuzzy single words."""
    words = re.findall(r"[a-z0-9][a-z0-9\-]*", text)
    found: list[str] = []
    taken: set[int] = set()
    for size in (4, 3, 2, 1):
        for start in range(len(words) - size + 1):
            span = range(start, start + size)
            if any(i in taken for i in span):
                continue
            phrase = " ".join(words[start : start + size])
            # short or ordinary words resolve only when they are an exact alias worth trusting
            ordinary = len(phrase) < 2 or (phrase in _NOT_INGREDIENTS and phrase not in SYNONYMS)
            if size == 1 and ordinary and phrase not in _TRUSTED_SHORT_NAMES:
                continue
            slug = _resolve_phrase(phrase)
            if slug is None and size == 1 and len(phrase) >= 5:
                slug = _fuzzy_word(phrase)
            if slug and slug not in found:
                found.append(slug)
                taken.update(span)
            elif slug:
                taken.update(span)
    return found


def _fuzzy_word(word: str) -> str | None:
    """A misspelt ingredient word ('salycilic', 'niacinamid', 'adaplene') → its slug.

    Edit distance with transpositions (typing errors swap letters), at most 1 edit for words
    up to 7 letters and 2 beyond; same first letter. Short words are never guessed.
    """
    index = _word_index()
    if word in index:
        return index[word]
    if word in _NOT_INGREDIENTS or len(word) < 5:
        return None
    limit = 1 if len(word) <= 7 else 2
    best: tuple[int, str] | None = None
    for candidate in index:
        if candidate[0] != word[0] or abs(len(candidate) - len(word)) > limit or len(candidate) < 5:
            continue
        distance = _edit_distance(word, candidate, limit)
        if distance <= limit and (best is None or distance < best[0]):
            best = (distance, candidate)
    return index[best[1]] if best else None


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (insert, delete, substitute, swap two neighbours)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def ingredient_name(slug: str) -> str:
    """Display name of a slug, also for names outside the catalog."""
    found = catalog.get(slug=slug)
    return found.name if found else slug.replace("_", " ")


# ---- other entities ---------------------------------------------------------------------------

_PM = (
    r"\b(tonight|tonite|2nite|this evening|evening|at night|night time|nighttime|before bed|bedtime|"
    r"pm|p\.m\.|nightly|night routine)\b"
)
# "am" only as a time: "in the am", "am routine", "7am" — never "i am" or "am i".
_AM = (
    r"\b(this morning|morning|mornings|tomorrow morning|a\.m\.|when i wake up)\b|\b(in the|my|the|for) am\b|"
    r"\bam (routine|steps?|skincare|products?)\b|\b\d{1,2} ?am\b"
)


def time_of_day(text: str) -> TimeOfDay | None:
    """'pm' for tonight/evening, 'am' for morning; the word 'am' in 'I am' is not a time."""
    pm, am = _has(text, _PM), _has(text, _AM)
    if pm and not am:
        return "pm"
    if am and not pm:
        return "am"
    return None


_PREGNANT = r"\b(pregnan\w*|pregant\w*|pregnat\w*|pregnent\w*|expecting( a baby)?|with child|\d+ weeks pg|trimester)\b"
_BREASTFEEDING = (
    r"\b(breast ?feeding|breast-feeding|breastfed|nursing( my baby)?|lactating|chestfeeding|"
    r"pumping|bf(ing)? my baby)\b"
)
_TRYING = r"\b(ttc|trying to (get pregnant|conceive)|trying for a baby|planning (a|to get) pregnan\w*)\b"
_NEGATED = r"\b(not|no longer|never been|arent|aren't|isn't|am not|i'm not|im not) (\w+ )?"


def pregnancy_state(text: str) -> PregnancyState | None:
    """Whether the message says the user is pregnant, breastfeeding or trying to conceive."""
    if _has(text, _BREASTFEEDING) and not _has(text, _NEGATED + r"(breast|nursing)"):
        return "breastfeeding"
    if _has(text, _TRYING):
        return "trying"
    if _has(text, _PREGNANT) and not _has(text, _NEGATED + r"pregnan"):
        return "pregnant"
    return None


def metrics_in(text: str) -> list[str]:
    """Skin metrics the text names, in a fixed order."""
    return [m for m, words in METRIC_WORDS.items() if re.search(_words_re(words), text)]


def areas_in(text: str) -> list[str]:
    """Face areas the text names."""
    return [a for a, words in AREA_WORDS.items() if re.search(_words_re(words), text)]


def superlative(text: str) -> Literal["best", "worst"] | None:
    """Whether the question asks for the best or the worst (best wins when both: 'best and worst')."""
    best = _has(
        text,
        r"\b(best|strongest|healthiest|doing (well|good|great)|good at|highest|"
        r"most improved|better than the rest)\b",
    )
    worst = _has(
        text,
        r"\b(worst|weakest|lowest|biggest (problem|issue)|needs? (the most )?work|"
        r"most attention|bad|weakest|doing badly|focus on)\b",
    )
    if best and worst:
        return "best" if text.find("best") < text.find("worst") else "worst"
    return "best" if best else "worst" if worst else None


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


_PRONOUN = r"\b(it|that|this|them|those|these|that one|this one|the stuff|this stuff|that stuff|the same)\b"
_SKIN_DOMAIN = (
    r"\b(skin|face|facial|routine|plan|scan|scans|score|scores|product|products|ingredient|ingredients|serum|"
    r"cream|creams|moisturi[sz]er|moisturi[sz]e|cleanser|toner|spf|sunscreen|sunblock|retino\w*|acid|acne|"
    r"pimple\w*|spots?|zits?|pores?|wrinkles?|derm\w*|rash|itch\w*|peel\w*|breakouts?|mask|exfoliat\w*|"
    r"makeup|make-up|lotion|gel|oil|dry|oily|sensitive|redness|red|flaky|burn\w*|sting\w*|mole|lips?|eyes?|"
    r"period|cycle|hormon\w*|pregnan\w*|breastfeed\w*|cheeks?|forehead|chin|nose|t-zone|apply|applying|"
    r"week|weeks|progress|results?|streak|check-?ins?)\b"
)
_OFF_TOPIC = (
    r"\b(movies?|films?|netflix|series to watch|tv show|song|music|playlist|stocks?|crypto|bitcoin|invest\w*|"
    r"recipe|cook\w*|dinner|lunch|restaurants?|near me|weather|football|soccer|basketball|nba|game tonight|"
    r"video games?|homework|essay|math|capital of|president|election|politics|joke|poem|code|python|"
    r"javascript|flight|hotel|holiday|vacation plans|car|bus|train times|girlfriend|boyfriend|dating|"
    r"horoscope|lottery|translate|news)\b"
)

# (intent, patterns), highest priority first. The first rule that matches wins; the order
# encodes what matters most when a message touches several topics.
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "greeting",
        (
            r"^\s*(hi+|hello+|he+y+|hiya|yo|good (morning|evening|afternoon)|thanks?|thank you|ty|thx|ok|okay|"
            r"cool|great)\b[\s!.?]*$",
        ),
    ),
    (
        "last_scan",
        (
            r"\b(last|latest|previous|most recent|recent) (scan|analysis|photo|selfie)\b.*\b(when|date|day)\b",
            r"\bwhen (was|did) (my|i) (last|latest|previous|most recent)? ?(scan|analysis|do a scan|take a scan|scanned)\b",
            r"\b(date|day) of my (last|latest) scan\b",
            r"\b(when|what day|what date|which day)\b.*\b(last|latest|previous|most recent|recent) (scan|analysis)\b",
            r"\bhow long (ago|since) (was )?(my|the) (last )?scan\b",
        ),
    ),
    (
        "rescan",
        (
            r"\b(rescan|re-scan|next scan|another scan|new scan|scan again|how often\b.*\bscan|when should i scan|"
            r"when (do|can|should) i (do|take) (a|my|the) (next )?scan)\b",
        ),
    ),
    (
        "cycle",
        (
            r"\b(period|periods|menstrua\w*|pms|pmdd|time of (the )?month|cycle|ovulat\w*|luteal|"
            r"hormon\w*|on my rag)\b",
        ),
    ),
    (
        "interaction",
        (
            r"\b(together|combine\w*|mix\w*|layer\w*|same time|same night|same routine|at once|in one routine|"
            r"on top of)\b",
            r"\b(with|and|\+|&|after|before|on top of|over)\b.*\?",
            r"\b(use|put|apply|pair)\b.*\b(with|and|\+|&)\b",
        ),
    ),
    (
        "plan",
        (
            r"\b(change|switch|swap|replace|redo|reset|restart|new|different|another|update|edit|modify|cancel|"
            r"stop|quit|end)\b.{0,25}\b(plan|routine|treatment)\b",
            r"\b(get|make|have|want|need) (a )?(new|different|another) (one|plan|routine)\b",
            r"\b(locked?|lock|unlock|days? left|how (many )?(days|weeks)|how long|when (does|will) (my|the) plan|"
            r"plan (end|over|finish)|what week|which week|current week|day \d+)\b",
        ),
    ),
    (
        "side_effects",
        (
            r"\b(purg\w*|irritat\w*|sting\w*|burn\w*|peel\w*|flak\w*|itch\w*|rash|reaction|react\w*|side ?effects?|"
            r"breaking out|broke out|breakout from|redder|sensitive now|tingl\w*|dry patches|raw|sore|hurts?|"
            r"stop using|keep using|should i stop|quit using|too strong|too harsh)\b",
            r"\b(quit|stop|stopping|drop|pause)( using)? (it|this|that|them)\b",
        ),
    ),
    ("plan", (r"\b(my plan|the plan|treatment plan|why this plan|why is my plan)\b",)),
    (
        "schedule",
        (
            r"\b(what|which) (nights?|days?)\b",
            r"\b(when|which (nights?|days?)|what (nights?|days?)|how often|how many (nights|times|days)|what day)\b"
            r".*\b(use|apply|put|do)\b",
            r"\b(is|are) (tonight|today) (a|an|my) \w+ night\b",
            r"\b(retinoid|retinol|exfoliant|acid|adapalene|rest) night\b",
            r"\bwhen (am i|do i|should i)\b.*\b(use|apply)\b",
        ),
    ),
    ("sunscreen", (r"\b(sunscreen|spf|sun cream|suncream|sunblock|uv|sun protection|reapply)\b",)),
    (
        "progress",
        (
            r"\b(progress|improv\w*|getting better|getting worse|better|worse|changed?|trend|compared?|since|"
            r"any difference|working|results so far|gone (up|down))\b",
        ),
    ),
    (
        "adherence",
        (r"\b(streak|adherence|missed|skipp\w*|forgot|check-?ins?|how am i doing|consisten\w*)\b",),
    ),
    (
        "routine",
        (
            r"\b(routine|steps?|regimen|what (should|do|can) i (use|apply|put on|do)|what('?s| is) (on )?(for )?"
            r"(tonight|today|this morning)|order)\b",
            _PM,
            _AM,
            r"\btoday\b",
        ),
    ),
    (
        "scores",
        (
            r"\b(score|scores|result|results|analysis|how is my skin|how's my skin|hows my skin|my skin|worst|best|"
            r"rating|doing best|doing worst|strongest|weakest|which part|what part|area|areas)\b",
        ),
    ),
    (
        "ingredient_question",
        (
            r"\b(what is|what's|whats|what does|why|how does|tell me about|explain|good for|is \w+ good|"
            r"benefits?|does .* work|should i (use|try|get)|can i use|safe|worth)\b",
        ),
    ),
)
_COMPILED_RULES = tuple((name, tuple(re.compile(p) for p in patterns)) for name, patterns in RULES)


def classify(text: str) -> str:
    """The first rule that matches, or 'unknown'."""
    for name, patterns in _COMPILED_RULES:
        if any(p.search(text) for p in patterns):
            return name
    return "unknown"


def _is_off_topic(text: str, ingredients: list[str]) -> bool:
    """No skincare vocabulary at all, and something from another domain."""
    if ingredients or metrics_in(text) or re.search(_SKIN_DOMAIN, text):
        return False
    return bool(re.search(_OFF_TOPIC, text)) or _looks_general_request(text)


def _looks_general_request(text: str) -> bool:
    return _has(
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
    for turn in reversed(history):
        if turn.role == "user":
            text = normalise(turn.content)
            if red_flags(text):
                return "red_flag"
            return classify(text)
    return None


def _short_follow_up(text: str) -> bool:
    return len(text.split()) <= 5 and _has(
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
    if not ingredients and re.search(_PRONOUN, text):
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
    if intent == "routine" and subject and _has(text, r"\b(can i|should i|is it ok|ok to|okay to)\b"):
        intent = "schedule"
    if len(subject) >= 2 and intent in {"routine", "unknown", "scores", "ingredient_question"}:
        intent = "interaction"  # two ingredients named together: whether they go together
    if intent == "plan" and subject and _has(text, r"\bin (my|the|this) (plan|routine)\b"):
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
    if slug in ORAL_RETINOIDS:
        return True
    found = catalog.get(slug=slug)
    return bool(found and found.pregnancy != "safe")
