"""Parse INCI ingredient lists as printed on packs into normalised names resolved against the catalog."""

import re
import unicodedata

from app.routine_engine import catalog
from app.routine_engine.models import InciEntry, InciParseResult
from app.routine_engine.names import display_name, split_top_level, strip_markers, unique

_LABEL = re.compile(r"^\s*(?:ingredients?|inci|composition|ingr[e\u00e9]dients)\s*[:\-]\s*", re.IGNORECASE)
_MAY_CONTAIN = re.compile(r"\bmay\s+contain\b|\bpeut\s+contenir\b|\+\s*/\s*-|\u00b1", re.IGNORECASE)
_PERCENT = re.compile(r"\(?\s*(\d+(?:[.,]\d+)?)\s*%\s*\)?")
_BLEND = re.compile(r"\(\s*and\s*\)", re.IGNORECASE)
_AND_JOIN = re.compile(r"\s+(?:and|&)\s+", re.IGNORECASE)
_SEPARATORS = ",;\u2022\u00b7"
_FOOTNOTE_MARKERS = ("*", "\u2020", "\u2021")
_OPENERS = {"(": ")", "[": "]", "{": "}"}


def _prepare(text: str) -> str:
    """Unify whitespace and line structure; a newline-only list becomes a comma list."""
    text = _LABEL.sub("", unicodedata.normalize("NFKC", text))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and not any(sep in text for sep in _SEPARATORS):
        return ", ".join(lines)
    return " ".join(lines)


def _enclosing_group(text: str, pos: int) -> tuple[int, int] | None:
    """The (start, end) of the innermost bracket group around `pos`, end inclusive."""
    stack: list[int] = []
    for i, char in enumerate(text[:pos]):
        if char in _OPENERS:
            stack.append(i)
        elif char in _OPENERS.values() and stack:
            stack.pop()
    if not stack:
        return None
    start, depth = stack[-1], 0
    for i in range(start, len(text)):
        if text[i] in _OPENERS:
            depth += 1
        elif text[i] in _OPENERS.values():
            depth -= 1
            if depth == 0:
                return start, i
    return start, len(text) - 1


def _split_may_contain(text: str) -> tuple[str, str]:
    """Separate the '[+/- ...]' or 'May contain: ...' colourant section from the main list."""
    match = _MAY_CONTAIN.search(text)
    if not match:
        return text, ""
    group = _enclosing_group(text, match.start())
    if group:
        start, end = group
        section = text[match.end() : end]
        return text[:start] + text[end + 1 :], section
    return text[: match.start()], text[match.end() :]


def _split_footnotes(text: str) -> tuple[str, list[str]]:
    """Cut a trailing '. *Organic ingredients' style footnote block off the main list."""
    depth = 0
    for i, char in enumerate(text):
        depth += char in _OPENERS
        depth -= char in _OPENERS.values()
        if char == "." and depth == 0:
            tail = text[i + 1 :]
            # "Alcohol Denat., Glycerin" has a comma after the period: that is a name, not a footnote.
            if re.match(r"\s+[*\u2020\u2021A-Za-z]", tail):
                return text[:i], [tail.strip()]
    return text, []


def _percent(item: str) -> tuple[str, float | None]:
    match = _PERCENT.search(item)
    if not match:
        return item, None
    value = float(match.group(1).replace(",", "."))
    return (item[: match.start()] + " " + item[match.end() :]).strip(), value


def _resolve_slug(name: str) -> str | None:
    found = catalog.resolve(name=name)
    return found.slug if found else None


def _split_joined(item: str) -> list[str]:
    """Split trade-blend '(and)' always; split plain 'and'/'&' only when each side is a known ingredient."""
    if _BLEND.search(item):
        return [p for p in _BLEND.split(item) if p.strip()]
    if _AND_JOIN.search(item) and _resolve_slug(item) is None:
        parts = [p for p in _AND_JOIN.split(item) if p.strip()]
        if all(_resolve_slug(p) for p in parts):
            return parts
    return [item]


def _entries(section: str, *, may_contain: bool, notes: list[str]) -> list[InciEntry]:
    entries: list[InciEntry] = []
    for raw_item in split_top_level(section, _SEPARATORS):
        item = raw_item.strip()
        if item.startswith(_FOOTNOTE_MARKERS) and strip_markers(item):
            # Names carry markers as suffixes ("Glycerin*"); a leading one starts a footnote ("*organic").
            notes.append(item)
            continue
        text, percent = _percent(item)
        for part in _split_joined(text):
            cleaned = strip_markers(part.strip(" []"))
            if not cleaned:
                continue
            entries.append(
                InciEntry(
                    raw=part.strip(),
                    name=display_name(cleaned),
                    slug=_resolve_slug(cleaned),
                    may_contain=may_contain,
                    percent=percent,
                )
            )
    return entries


def parse_inci(*, text: str) -> InciParseResult:
    """Parse an INCI list; every name is kept, and names not in the database are listed in `unknown`."""
    prepared = _prepare(text)
    main, may_contain_section = _split_may_contain(prepared)
    main, notes = _split_footnotes(main)
    entries = _entries(main, may_contain=False, notes=notes)
    entries += _entries(may_contain_section.lstrip(" :-"), may_contain=True, notes=notes)
    unknown = unique(e.name for e in entries if e.slug is None)
    return InciParseResult(entries=entries, unknown=unknown, notes=notes)


def split_inci(*, text: str) -> list[str]:
    """Just the normalised names of an INCI list, in order."""
    return [entry.name for entry in parse_inci(text=text).entries]
