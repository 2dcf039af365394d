"""Choosing ingredients: the safety filter every candidate passes and the conflict check against placed routines."""

from collections.abc import Sequence

from app.core.vocabulary import METRICS
from app.routine_engine import catalog
from app.routine_engine.builder.context import Ctx
from app.routine_engine.conflicts import blocking_pairs, matching_sensitivities
from app.routine_engine.models import NightFocus
from app.routine_engine.names import unique


def allowed(ctx: Ctx, slug: str) -> bool:
    """The safety filter every ingredient the builder names must pass."""
    ingredient = catalog.get(slug=slug)
    if ingredient is None or "prescription" in ingredient.groups:
        return False
    if matching_sensitivities(ingredient, ctx.profile.sensitivities):
        return False
    # In pregnancy only 'safe' entries: no retinoids, no hydroquinone, no salicylic acid (even low-dose).
    if ctx.pregnant and (ingredient.pregnancy != "safe" or "retinoid" in ingredient.groups):
        return False
    return not (ctx.acne_prone and ingredient.comedogenic >= 3)


def compatible(slugs: Sequence[str], contexts: Sequence[Sequence[str]]) -> bool:
    """No 'avoid'/'caution' rule between the new slugs and any context they will share a routine with."""
    return all(not blocking_pairs(slugs=[*context, *slugs]) for context in contexts)


def first_allowed(ctx: Ctx, options: Sequence[str], contexts: Sequence[Sequence[str]] = ((),)) -> str | None:
    """The first option that is allowed and compatible, or None."""
    for slug in options:
        if allowed(ctx, slug) and compatible([slug], contexts):
            return slug
    return None


def supporting_keys(ctx: Ctx, options: Sequence[str], contexts: Sequence[Sequence[str]] = ((),)) -> list[str]:
    """Supporting key ingredients: keep each allowed, compatible one, in order."""
    chosen: list[str] = []
    for slug in unique(options):
        if allowed(ctx, slug) and compatible([*chosen, slug], contexts):
            chosen.append(slug)
    return chosen


def display_name(slug: str) -> str:
    """The catalog's display name of a slug (the slug itself when unknown)."""
    ingredient = catalog.get(slug=slug)
    return ingredient.name if ingredient else slug


def lower_first(text: str) -> str:
    """'Adapalene ...' -> 'adapalene ...' mid-sentence, but keep acronyms like 'PHA'."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def top_driver(ctx: Ctx, metrics: Sequence[str]) -> str:
    """The metric with the highest need (earliest in METRICS on a tie)."""
    return max(metrics, key=lambda m: (ctx.need[m], -METRICS.index(m)))


def focus_of(slug: str) -> NightFocus:
    """A night active's focus: a real retinoid, or the retinoid-night stand-in (bakuchiol)."""
    ingredient = catalog.get(slug=slug)
    return "retinoid" if ingredient and "retinoid" in ingredient.groups else "retinoid_alternative"
