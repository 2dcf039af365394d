"""Ingredient names in a message: 1-4 word windows against the catalog, then fuzzy single words."""

import re
from functools import lru_cache

from app.providers.assistant.lexicon import GENERIC_WORDS, NOT_INGREDIENTS, SYNONYMS, TRUSTED_SHORT_NAMES
from app.routine_engine import catalog
from app.routine_engine.names import name_key


@lru_cache(maxsize=1)
def word_index() -> dict[str, str]:
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
                if len(word) >= 5 and word not in GENERIC_WORDS and not word.isdigit():
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
    """A phrase's slug by synonym or catalog name, or None."""
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
            ordinary = len(phrase) < 2 or (phrase in NOT_INGREDIENTS and phrase not in SYNONYMS)
            if size == 1 and ordinary and phrase not in TRUSTED_SHORT_NAMES:
                continue
            slug = _resolve_phrase(phrase)
            if slug is None and size == 1 and len(phrase) >= 5:
                slug = fuzzy_word(phrase)
            if slug and slug not in found:
                found.append(slug)
                taken.update(span)
            elif slug:
                taken.update(span)
    return found


def fuzzy_word(word: str) -> str | None:
    """A misspelt ingredient word ('salycilic', 'niacinamid', 'adaplene') → its slug.

    Edit distance with transpositions (typing errors swap letters), at most 1 edit for words
    up to 7 letters and 2 beyond; same first letter. Short words are never guessed.
    """
    index = word_index()
    if word in index:
        return index[word]
    if word in NOT_INGREDIENTS or len(word) < 5:
        return None
    limit = 1 if len(word) <= 7 else 2
    best: tuple[int, str] | None = None
    for candidate in index:
        if candidate[0] != word[0] or abs(len(candidate) - len(word)) > limit or len(candidate) < 5:
            continue
        distance = edit_distance(word, candidate, limit)
        if distance <= limit and (best is None or distance < best[0]):
            best = (distance, candidate)
    return index[best[1]] if best else None


def edit_distance(a: str, b: str, limit: int) -> int:
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
