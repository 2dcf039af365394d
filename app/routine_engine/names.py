"""Name normalisation shared by the catalog index, the INCI parser and sensitivity matching."""

import re
import unicodedata
from collections.abc import Iterable

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# "C.I. 77891", "CI77891" and "ci 77891" are the same colour index number.
_COLOUR_INDEX = re.compile(r"\bc ?i ?(\d{5})\b")
_PARENS = re.compile(r"\(([^()]*)\)")
# Footnote and trademark markers that decorate names on packs.
_MARKERS = re.compile("[*\u2020\u2021\u00b0\u00ae\u2122\u00a9\u00b9\u00b2\u00b3^#]+")


def fold(text: str) -> str:
    """Lowercase, strip accents and unify dashes/quotes so every later step sees plain ASCII-ish text."""
    decomposed = unicodedata.normalize("NFKD", text)
    no_accents = "".join(c for c in decomposed if not unicodedata.combining(c))
    return no_accents.replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'").lower()


def name_key(text: str) -> str:
    """The lookup key of a name: folded, punctuation to spaces, whitespace collapsed."""
    folded = fold(_MARKERS.sub(" ", text)).replace("&", " and ")
    key = " ".join(_NON_ALNUM.sub(" ", folded).split())
    return _COLOUR_INDEX.sub(r"ci \1", key)


def strip_markers(text: str) -> str:
    """Remove footnote/trademark markers and surrounding punctuation, keep inner punctuation."""
    cleaned = " ".join(_MARKERS.sub(" ", text).split())
    return cleaned.strip(" .,;:")


def display_name(text: str) -> str:
    """Normalised human-readable form: folded, markers stripped, whitespace collapsed."""
    return " ".join(fold(strip_markers(text)).split())


def without_parens(text: str) -> str:
    """`Butyrospermum Parkii (Shea) Butter` -> `Butyrospermum Parkii Butter`."""
    return " ".join(_PARENS.sub(" ", text).split())


def candidate_keys(text: str) -> list[str]:
    """Keys to try, best first, for a name that may carry parenthesised synonyms."""
    keys = [name_key(text)]
    match = _PARENS.search(text)
    if match:
        keys.append(name_key(without_parens(text)))
        inner, after = match.group(1), text[match.end() :]
        # "Butyrospermum Parkii (Shea) Butter" -> "shea butter"; "Parfum (Fragrance)" -> "fragrance".
        keys.append(name_key(f"{inner} {without_parens(after)}"))
        keys.extend(name_key(part) for part in re.split(r"[,/]", inner))
    return unique(k for k in keys if k)


def unique(items: Iterable[str]) -> list[str]:
    """Deduplicate, keeping first occurrence order (sets would make output order hash-dependent)."""
    return list(dict.fromkeys(items))


def split_top_level(text: str, separators: str) -> list[str]:
    """Split on any separator character that is not inside (), [] or {}."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(depth - 1, 0)
        if char in separators and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts
