"""Conflict checker: rule matching between ingredients, sensitivity matching and the user-facing report.

Two ingredients inside the SAME product are never reported as a conflict: the maker formulated them
together (e.g. adapalene + benzoyl peroxide gels, AHA/BHA toners), so the pair is reported at
`info` level with `same_product=True` and the rule's general note. Conflicts across products, or
between loose ingredients, keep the rule's severity.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from app.core.vocabulary import SkinType
from app.routine_engine import catalog
from app.routine_engine.inci import parse_inci
from app.routine_engine.models import (
    SEVERITY_RANK,
    ConflictFinding,
    ConflictReport,
    ConflictRule,
    EngineProfile,
    Ingredient,
    InvolvedIngredient,
    ProductInput,
    ProfileCaution,
    ResolvedName,
    Severity,
    UnknownName,
)
from app.routine_engine.names import display_name, name_key, unique

BLOCKING: tuple[Severity, ...] = ("avoid", "caution")

# Everyday words people use for a whole family of ingredients.
SENSITIVITY_SYNONYMS: dict[str, str] = {
    "perfume": "fragrance",
    "scent": "fragrance",
    "fragrance free": "fragrance",
    "vitamin a": "retinoid",
    "acids": "exfoliating_acid",
    "sulfate": "sulfate_surfactant",
    "sulphate": "sulfate_surfactant",
    "chemical sunscreen": "organic_filter",
    "chemical filter": "organic_filter",
    "mineral sunscreen": "mineral_filter",
    "sunscreen": "sunscreen_filter",
    "drying alcohol": "drying_alcohol",
}
_HIGH_DOSE_SALICYLIC_PERCENT = 2.0


# ---- rule matching -------------------------------------------------------------------------------


def _specificity(rule: ConflictRule) -> int:
    """Rules naming a slug beat rules naming a group (tretinoin+BP beats retinoid+BP)."""
    return sum(catalog.get(slug=token) is not None for token in (rule.a, rule.b))


def rules_between(a: Ingredient, b: Ingredient) -> list[ConflictRule]:
    """Every rule covering this pair, in either orientation, in file order."""
    return [
        rule
        for rule in catalog.rules()
        if (catalog.matches_token(a, rule.a) and catalog.matches_token(b, rule.b))
        or (catalog.matches_token(a, rule.b) and catalog.matches_token(b, rule.a))
    ]


@lru_cache(maxsize=16384)
def strongest_rule(slug_a: str, slug_b: str) -> ConflictRule | None:
    """The most severe (then most specific, then first) rule between two slugs, or None."""
    a, b = catalog.get(slug=slug_a), catalog.get(slug=slug_b)
    if a is None or b is None:
        return None
    order = {rule.id: i for i, rule in enumerate(catalog.rules())}
    candidates = rules_between(a, b)
    if not candidates:
        return None
    return min(candidates, key=lambda r: (-SEVERITY_RANK[r.severity], -_specificity(r), order[r.id]))


def blocking_pairs(*, slugs: Iterable[str]) -> list[tuple[str, str, ConflictRule]]:
    """Pairs of distinct slugs in one routine that an 'avoid' or 'caution' rule forbids."""
    ordered = sorted(set(slugs))
    found: list[tuple[str, str, ConflictRule]] = []
    for i, slug_a in enumerate(ordered):
        for slug_b in ordered[i + 1 :]:
            rule = strongest_rule(slug_a, slug_b)
            if rule is not None and rule.severity in BLOCKING:
                found.append((slug_a, slug_b, rule))
    return found


# ---- sensitivities ---------------------------------------------------------------------------------


def _singular(key: str) -> str:
    if key.endswith("ies"):
        return key[:-3] + "y"
    if key.endswith("s") and not key.endswith("ss"):
        return key[:-1]
    return key


def sensitivity_keys(sensitivity: str) -> list[str]:
    """The keys a sensitivity stands for: itself, its singular and any synonym."""
    key = name_key(sensitivity)
    keys = [key, _singular(key)]
    keys += [name_key(SENSITIVITY_SYNONYMS[k]) for k in list(keys) if k in SENSITIVITY_SYNONYMS]
    return unique(k for k in keys if k)


@lru_cache(maxsize=512)
def _ingredient_keys(slug: str) -> frozenset[str]:
    ingredient = catalog.get(slug=slug)
    if ingredient is None:
        return frozenset()
    names = [ingredient.slug, ingredient.name, ingredient.inci_name, *ingredient.aliases, *ingredient.groups]
    return frozenset(name_key(n) for n in names)


def _matches(slug: str, sensitivity: str) -> bool:
    if any(k in _ingredient_keys(slug) for k in sensitivity_keys(sensitivity)):
        return True
    resolved = catalog.resolve(name=sensitivity)
    return resolved is not None and resolved.slug == slug


@lru_cache(maxsize=4096)
def sensitivity_slugs(sensitivity: str) -> frozenset[str]:
    """Every catalog slug a sensitivity covers (empty when it matches nothing we know)."""
    return frozenset(i.slug for i in catalog.all_ingredients() if _matches(i.slug, sensitivity))


def matches_sensitivity(ingredient: Ingredient, sensitivity: str) -> bool:
    """Whether a user's sensitivity (a name, alias, slug or group) covers this ingredient."""
    return ingredient.slug in sensitivity_slugs(sensitivity)


def matching_sensitivities(ingredient: Ingredient, sensitivities: Iterable[str]) -> list[str]:
    """The user's sensitivities that cover this ingredient, in the user's order."""
    return [s for s in sensitivities if matches_sensitivity(ingredient, s)]


def unmatched_sensitivities(sensitivities: Iterable[str]) -> list[str]:
    """Sensitivities that match nothing in the database (the user must check labels themselves)."""
    return [s for s in unique(sensitivities) if name_key(s) and not sensitivity_slugs(s)]


# ---- the report ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    ingredient: Ingredient
    source: str  # distinct per product; every loose ingredient is its own source
    product: str | None
    when: str
    percent: float | None


def _resolved(raw: str, *, product: str | None, percent: float | None = None) -> ResolvedName:
    found = catalog.resolve(name=raw)
    return ResolvedName(
        input=raw,
        normalised=display_name(raw),
        slug=found.slug if found else None,
        name=found.name if found else None,
        product=product,
        percent=percent,
    )


def _display(slug: str | None) -> str | None:
    found = catalog.get(slug=slug) if slug else None
    return found.name if found else None


def _product_names(product: ProductInput) -> list[ResolvedName]:
    names = [_resolved(raw, product=product.name) for raw in product.ingredients]
    if product.inci:
        for entry in parse_inci(text=product.inci).entries:
            names.append(
                ResolvedName(
                    input=entry.raw,
                    normalised=entry.name,
                    slug=entry.slug,
                    name=_display(entry.slug),
                    product=product.name,
                    percent=entry.percent,
                )
            )
    return names


def _items(resolved: list[ResolvedName], sources: list[tuple[str, str]]) -> list[_Item]:
    """One item per (source, slug); repeated names inside one source collapse."""
    items: dict[tuple[str, str], _Item] = {}
    for name, (source, when) in zip(resolved, sources, strict=True):
        if name.slug is None:
            continue
        ingredient = catalog.get(slug=name.slug)
        key = (source, name.slug)
        if ingredient is None:
            continue
        if key not in items or (name.percent is not None and items[key].percent is None):
            items[key] = _Item(ingredient, source, name.product, when, name.percent)
    return list(items.values())


def _involved(item: _Item) -> InvolvedIngredient:
    return InvolvedIngredient(slug=item.ingredient.slug, name=item.ingredient.name, product=item.product)


def _finding(first: _Item, second: _Item, rule: ConflictRule) -> ConflictFinding:
    if not (
        catalog.matches_token(first.ingredient, rule.a) and catalog.matches_token(second.ingredient, rule.b)
    ):
        first, second = second, first  # report in the rule's own a/b order
    severity: Severity = rule.severity
    reason = rule.reason
    same_product = first.source == second.source
    if same_product:
        severity = "info"
        reason = f"Formulated together in {first.product}, so not a conflict. General note: {rule.reason}"
    elif {first.when, second.when} == {"am", "pm"} and rule.fix == "split_am_pm":
        severity = "info"
        reason = f"Already split between morning and night. {rule.reason}"
    return ConflictFinding(
        rule_id=rule.id,
        severity=severity,
        a=_involved(first),
        b=_involved(second),
        reason=reason,
        fix=rule.fix,
        fix_text=rule.fix_text,
        same_product=same_product,
        sources=list(rule.sources),
    )


def _conflicts(items: list[_Item]) -> list[ConflictFinding]:
    findings: list[ConflictFinding] = []
    for i, first in enumerate(items):
        for second in items[i + 1 :]:
            rule = strongest_rule(first.ingredient.slug, second.ingredient.slug)
            if rule is not None:
                findings.append(_finding(first, second, rule))
    return sorted(findings, key=lambda f: (-SEVERITY_RANK[f.severity], f.rule_id, f.a.slug, f.b.slug))


def _pregnancy_caution(item: _Item) -> ProfileCaution | None:
    ingredient = item.ingredient
    if ingredient.pregnancy == "safe":
        return None
    severity: Severity = ingredient.pregnancy
    reason = ingredient.pregnancy_note or "Limited safety data in pregnancy and breastfeeding."
    if ingredient.slug == "salicylic_acid" and (item.percent or 0) > _HIGH_DOSE_SALICYLIC_PERCENT:
        severity = "avoid"
        reason = f"Salicylic acid above {_HIGH_DOSE_SALICYLIC_PERCENT:g}% is avoided in pregnancy. {reason}"
    return ProfileCaution(
        kind="pregnancy",
        severity=severity,
        slug=ingredient.slug,
        name=ingredient.name,
        product=item.product,
        reason=reason,
    )


def _cautions(items: list[_Item], profile: EngineProfile) -> list[ProfileCaution]:
    cautions: list[ProfileCaution] = []
    for item in items:
        ingredient = item.ingredient
        if profile.pregnant_or_breastfeeding and (caution := _pregnancy_caution(item)):
            cautions.append(caution)
        for sensitivity in matching_sensitivities(ingredient, profile.sensitivities):
            reason = f"You listed '{sensitivity}' as a sensitivity and {ingredient.name} matches it."
            cautions.append(_caution(item, kind="sensitivity", severity="avoid", reason=reason))
        if profile.skin_type == SkinType.SENSITIVE and ingredient.irritation >= 3:
            reason = f"{ingredient.name} is a frequent irritant (irritation {ingredient.irritation}/5) for sensitive skin."
            cautions.append(_caution(item, kind="sensitive_skin", severity="caution", reason=reason))
    return cautions


def _caution(
    item: _Item, *, kind: Literal["sensitivity", "sensitive_skin"], severity: Severity, reason: str
) -> ProfileCaution:
    ingredient = item.ingredient
    return ProfileCaution(
        kind=kind,
        severity=severity,
        slug=ingredient.slug,
        name=ingredient.name,
        product=item.product,
        reason=reason,
    )


def _worst(findings: list[ConflictFinding], cautions: list[ProfileCaution]) -> Severity | None:
    severities = [f.severity for f in findings] + [c.severity for c in cautions]
    if not severities:
        return None
    return max(severities, key=lambda s: SEVERITY_RANK[s])


def check(
    *,
    ingredients: list[str] | None = None,
    products: list[ProductInput] | None = None,
    profile: EngineProfile | None = None,
) -> ConflictReport:
    """Check loose ingredients and/or products used together for conflicts and profile cautions."""
    resolved: list[ResolvedName] = []
    sources: list[tuple[str, str]] = []
    for raw in ingredients or []:
        resolved.append(_resolved(raw, product=None))
        # Loose names share one source key per slug so duplicates collapse, yet pair with each other.
        sources.append((f"loose:{resolved[-1].slug or raw}", "both"))
    for index, product in enumerate(products or []):
        names = _product_names(product)
        resolved += names
        sources += [(f"product:{index}", product.when)] * len(names)
    items = _items(resolved, sources)
    profile = profile or EngineProfile()
    cautions = _cautions(items, profile)
    findings = _conflicts(items)
    unknown = [UnknownName(name=r.normalised, product=r.product) for r in resolved if r.slug is None]
    return ConflictReport(
        resolved=resolved,
        conflicts=findings,
        cautions=cautions,
        unknown=list({(u.name, u.product): u for u in unknown}.values()),
        unmatched_sensitivities=unmatched_sensitivities(profile.sensitivities),
        worst_severity=_worst(findings, cautions),
    )
