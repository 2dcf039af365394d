"""Independent re-implementations of the engine's safety checks, so the tests do not trust the code under test."""

from app.routine_engine import catalog
from app.routine_engine.models import RoutinePlan
from app.routine_engine.names import name_key

BLOCKING = ("avoid", "caution")


def _covers(slug: str, token: str) -> bool:
    ingredient = catalog.get(slug=slug)
    assert ingredient is not None, slug
    return token == slug or token in ingredient.groups


def blocking_violations(slugs: list[str]) -> list[tuple[str, str, str]]:
    """Every (a, b, rule id) where ANY avoid/caution rule covers two distinct slugs of one routine."""
    distinct = sorted(set(slugs))
    found = []
    for i, a in enumerate(distinct):
        for b in distinct[i + 1 :]:
            for rule in catalog.rules():
                if rule.severity not in BLOCKING:
                    continue
                if (_covers(a, rule.a) and _covers(b, rule.b)) or (_covers(a, rule.b) and _covers(b, rule.a)):
                    found.append((a, b, rule.id))
    return found


def naive_sensitivity_hit(slug: str, sensitivity: str) -> bool:
    """Plain equality of normalised names: slug, name, INCI, aliases, groups (plus a trailing-s plural)."""
    ingredient = catalog.get(slug=slug)
    assert ingredient is not None
    names = {
        name_key(n)
        for n in (slug, ingredient.name, ingredient.inci_name, *ingredient.aliases, *ingredient.groups)
    }
    key = name_key(sensitivity)
    return bool(key) and (key in names or key.removesuffix("s") in names)


def am_slugs(plan: RoutinePlan) -> list[str]:
    return [s for step in plan.am for s in step.key_ingredients]


def pm_base_slugs(plan: RoutinePlan) -> list[str]:
    return [s for step in plan.pm for s in step.key_ingredients]


def night_slugs(plan: RoutinePlan) -> list[list[str]]:
    """For every scheduled night: the nightly PM steps plus that night's actives and its treatment step."""
    base = pm_base_slugs(plan)
    by_focus = {t.focus: t.step.key_ingredients for t in plan.night_treatments}
    return [
        [*base, *night.actives, *by_focus.get(night.focus, [])]
        for week in plan.weekly_schedule
        for night in week.nights
    ]


def every_slug(plan: RoutinePlan) -> list[str]:
    steps = [*plan.am, *plan.pm, *(t.step for t in plan.night_treatments)]
    scheduled = [s for week in plan.weekly_schedule for night in week.nights for s in night.actives]
    return [*(s for step in steps for s in step.key_ingredients), *scheduled]


def retinoid_nights(plan: RoutinePlan, week: int) -> int:
    nights = plan.weekly_schedule[week - 1].nights
    return sum(any("retinoid" in catalog.get(slug=s).groups for s in n.actives) for n in nights)  # type: ignore[union-attr]
