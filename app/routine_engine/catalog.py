"""The ingredient database and conflict rules: loaded once from the packaged JSON, then read-only."""

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from app.core.vocabulary import METRICS
from app.routine_engine.models import (
    ConflictRule,
    ConflictRuleSet,
    Ingredient,
    IngredientDatabase,
)
from app.routine_engine.names import candidate_keys, name_key, strip_markers, unique, without_parens

INGREDIENTS_FILE = "ingredients.json"
CONFLICTS_FILE = "conflicts.json"
_BLEND = re.compile(r"\(\s*and\s*\)", re.IGNORECASE)


class CatalogError(RuntimeError):
    """The packaged data is inconsistent (a bug in the data files, caught at load time)."""


@dataclass(frozen=True)
class Catalog:
    """In-memory, read-only view of both data files with a name index."""

    version: str
    rules_version: str
    ingredients: tuple[Ingredient, ...]
    rules: tuple[ConflictRule, ...]
    by_slug: MappingProxyType[str, Ingredient]
    by_key: MappingProxyType[str, str]
    groups: tuple[str, ...]
    _search_terms: MappingProxyType[str, tuple[str, ...]] = field(repr=False)


def _read_json(filename: str) -> Any:
    path = resources.files(__package__).joinpath("data", filename)
    return json.loads(path.read_text(encoding="utf-8"))


def _index_terms(ingredient: Ingredient) -> list[str]:
    """Every spelling that should resolve to this ingredient, as keys."""
    raw = [ingredient.slug, ingredient.name, ingredient.inci_name, *ingredient.aliases]
    keys: list[str] = []
    for term in raw:
        keys.extend([name_key(term), name_key(without_parens(term))])
    return unique(k for k in keys if k)


def _build_index(ingredients: tuple[Ingredient, ...]) -> dict[str, str]:
    index: dict[str, str] = {}
    for ingredient in ingredients:
        for key in _index_terms(ingredient):
            owner = index.setdefault(key, ingredient.slug)
            if owner != ingredient.slug:
                raise CatalogError(f"name {key!r} is claimed by both {owner!r} and {ingredient.slug!r}")
    return index


def _validate(db: IngredientDatabase, rules: ConflictRuleSet) -> tuple[str, ...]:
    slugs = [i.slug for i in db.ingredients]
    duplicates = sorted({s for s in slugs if slugs.count(s) > 1})
    if duplicates:
        raise CatalogError(f"duplicate slugs: {duplicates}")
    for ingredient in db.ingredients:
        unknown_targets = [t for t in ingredient.targets if t not in METRICS]
        if unknown_targets:
            raise CatalogError(f"{ingredient.slug}: unknown target metrics {unknown_targets}")
    groups = tuple(sorted({g for i in db.ingredients for g in i.groups}))
    tokens = set(groups) | set(slugs)
    for rule in rules.rules:
        missing = [t for t in (rule.a, rule.b) if t not in tokens]
        if missing:
            raise CatalogError(f"rule {rule.id}: {missing} match no slug or group")
    rule_ids = [r.id for r in rules.rules]
    if len(set(rule_ids)) != len(rule_ids):
        raise CatalogError("duplicate rule ids")
    return groups


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """Load and validate the packaged data once per process."""
    db = IngredientDatabase.model_validate(_read_json(INGREDIENTS_FILE))
    rule_set = ConflictRuleSet.model_validate(_read_json(CONFLICTS_FILE))
    groups = _validate(db, rule_set)
    ordered = tuple(sorted(db.ingredients, key=lambda i: (i.name.lower(), i.slug)))
    return Catalog(
        version=db.version,
        rules_version=rule_set.version,
        ingredients=ordered,
        rules=rule_set.rules,
        by_slug=MappingProxyType({i.slug: i for i in ordered}),
        by_key=MappingProxyType(_build_index(ordered)),
        groups=groups,
        _search_terms=MappingProxyType({i.slug: tuple(_index_terms(i)) for i in ordered}),
    )


def all_ingredients() -> tuple[Ingredient, ...]:
    """Every ingredient, sorted by name."""
    return load_catalog().ingredients


def rules() -> tuple[ConflictRule, ...]:
    """Every conflict rule, in file order."""
    return load_catalog().rules


def get(*, slug: str) -> Ingredient | None:
    """The ingredient with this slug, or None."""
    return load_catalog().by_slug.get(slug)


def in_group(*, group: str) -> list[Ingredient]:
    """Ingredients carrying a group (e.g. 'retinoid'), sorted by name."""
    return [i for i in load_catalog().ingredients if group in i.groups]


def matches_token(ingredient: Ingredient, token: str) -> bool:
    """Whether a rule token (a slug or a group) covers this ingredient."""
    return token == ingredient.slug or token in ingredient.groups


def _resolve_slug(catalog: Catalog, text: str) -> str | None:
    for key in candidate_keys(strip_markers(text)):
        slug = catalog.by_key.get(key)
        if slug:
            return slug
    return _resolve_compound(catalog, text)


def _resolve_compound(catalog: Catalog, text: str) -> str | None:
    """'Aqua/Water/Eau' or 'X (and) Y': accept only when every known part names the same ingredient."""
    parts = _BLEND.split(text) if _BLEND.search(text) else text.split("/") if "/" in text else []
    if len(parts) < 2:
        return None
    found = [_resolve_slug(catalog, p) for p in parts if p.strip()]
    known = unique(s for s in found if s)
    # A blend of different ingredients is several ingredients, not one: the INCI parser splits it.
    if len(known) == 1 and (not _BLEND.search(text) or all(found)):
        return known[0]
    return None


def resolve(*, name: str) -> Ingredient | None:
    """Find an ingredient by name, alias, INCI name or slug, ignoring case, accents and punctuation."""
    catalog = load_catalog()
    slug = _resolve_slug(catalog, name)
    return catalog.by_slug[slug] if slug else None


def _rank(catalog: Catalog, ingredient: Ingredient, query: str) -> int | None:
    """0 exact, 1 prefix, 2 word prefix, 3 substring, 4 group/function/target; None = no match."""
    terms = catalog._search_terms[ingredient.slug]
    if query in terms:
        return 0
    if any(t.startswith(query) for t in terms):
        return 1
    if any(f" {query}" in f" {t}" for t in terms):
        return 2
    if any(query in t for t in terms):
        return 3
    tags = [name_key(x) for x in (*ingredient.groups, *ingredient.functions, *ingredient.targets)]
    if query in tags:
        return 4
    return None


def search(*, query: str, limit: int = 20, offset: int = 0) -> tuple[list[Ingredient], int]:
    """Page of ingredients matching the query (best matches first) and the total match count."""
    if limit < 0 or offset < 0:
        raise ValueError("limit and offset must be >= 0")
    catalog = load_catalog()
    key = name_key(query)
    if not key:
        matches = list(catalog.ingredients)
    else:
        ranked = [(r, i) for i in catalog.ingredients if (r := _rank(catalog, i, key)) is not None]
        # Catalog order is already by name, and sort is stable, so ties stay alphabetical.
        matches = [i for _, i in sorted(ranked, key=lambda pair: pair[0])]
    return matches[offset : offset + limit], len(matches)
