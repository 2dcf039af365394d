"""Helpers the local assistant's answers share: labels, the plan's ingredients and week, pregnancy-safe options."""

from datetime import date
from typing import Any

from app.providers.assistant.base import ChatContext
from app.providers.assistant.understanding import Request, ingredient_name
from app.routine_engine import catalog
from app.routine_engine.models import EngineProfile


def label_of(metric: str) -> str:
    """'dark_circles' -> 'dark circles'."""
    return metric.replace("_", " ")


def steps_text(steps: list[dict[str, Any]]) -> str:
    """Numbered step lines with their key ingredients."""
    if not steps:
        return "- nothing scheduled"
    lines = []
    for step in steps:
        keys = ", ".join(step.get("key_ingredients", []))
        lines.append(
            f"{step.get('step', '-')}. {step.get('product_type', step.get('category', 'step'))}"
            + (f" ({keys})" if keys else "")
        )
    return "\n".join(lines)


def current_week(plan: dict[str, Any]) -> dict[str, Any]:
    """This week's entry of the plan's weekly schedule."""
    schedule = plan.get("weekly_schedule") or []
    index = min(int(plan.get("current_week") or 1), len(schedule) or 1) - 1
    return schedule[index] if schedule else {}


def when_used(slug: str, plan: dict[str, Any], request: Request) -> str:
    """Which nights (or mornings) the plan uses an ingredient, and whether tonight is one."""
    name = ingredient_name(slug)
    week = current_week(plan)
    nights = [n["day"] for n in week.get("nights", []) if slug in n.get("actives", [])]
    today = plan.get("today") or {}
    if nights:
        focus = next(
            t["focus"] for t in plan.get("night_treatments", []) if slug in t["step"]["key_ingredients"]
        )
        text = (
            f"{name} is used on your {focus.replace('_', ' ')} nights: this week (week {plan.get('current_week')}) "
            f"on {'/'.join(nights)}, after cleansing."
        )
        later = [
            f"week {w['week']}: {'/'.join(n['day'] for n in w['nights'] if slug in n['actives'])}"
            for w in plan.get("weekly_schedule", [])
            if w.get("week", 0) > int(plan.get("current_week") or 1)
        ]
        if later:
            text += " Then " + "; ".join(later) + "."
        if request.time_of_day == "pm":
            yes = slug in (today.get("night_actives") or [])
            focus_tonight = str(today.get("night_focus", "rest")).replace("_", " ")
            text += (
                f" Tonight ({today.get('day')}) is a {focus_tonight} night: "
                f"{'yes, use it' if yes else 'skip it tonight'}."
            )
        text += " Never on the same night as another retinoid or acid."
        return text
    for slot, label in (("am", "morning"), ("pm", "evening")):
        step = next((s for s in plan.get(slot, []) if slug in s.get("key_ingredients", [])), None)
        if step:
            return f"{name} is in your {label} routine (step {step['step']}, {step['product_type']}): {step.get('frequency', 'daily')}."
    return f"{name} is not part of your current plan, so it has no scheduled nights. Ask me before adding it."


def lock_note(context: ChatContext) -> str:
    """How the plan can be replaced, when it is locked."""
    plan = context.plan or {}
    if not plan.get("is_locked"):
        return " Your plan's lock period is over, so you can create a new plan now."
    return (
        f" Your plan stays locked for {plan.get('days_remaining')} more day(s); a new plan giving "
        "'adverse reaction' as the reason can replace it sooner."
    )


def plan_member(slug: str, request: Request, context: ChatContext) -> str:
    """'my retinoid' (resolved as retinol) means the plan's own retinoid when it has a different one."""
    plan_slugs = plan_ingredients(context)
    if slug in plan_slugs:
        return slug
    for group in request.groups:
        if in_group(slug, group):
            same = next((s for s in plan_slugs if in_group(s, group)), None)
            if same:
                return same
    return slug


def plan_ingredients(context: ChatContext) -> list[str]:
    """Every ingredient the user's plan uses; night actives (retinoid, exfoliant) live apart from `pm`."""
    plan = context.plan or {}
    steps = plan.get("am", []) + plan.get("pm", []) + [t["step"] for t in plan.get("night_treatments", [])]
    return list(dict.fromkeys(slug for step in steps for slug in step.get("key_ingredients", [])))


def in_group(slug: str, group: str) -> bool:
    """Whether a slug belongs to an ingredient group (oral isotretinoin counts as a retinoid)."""
    if slug == "isotretinoin":
        return group == "retinoid"
    ingredient = catalog.get(slug=slug)
    return bool(ingredient and group in ingredient.groups)


def not_safe(slug: str) -> bool:
    """Marked 'avoid' in pregnancy (oral isotretinoin included)."""
    ingredient = catalog.get(slug=slug)
    return slug == "isotretinoin" or bool(ingredient and ingredient.pregnancy == "avoid")


def safe_alternatives(subject: list[str]) -> list[str]:
    """Pregnancy-safe actives that target what the unsafe ones do."""
    targets = {t for s in subject if (i := catalog.get(slug=s)) for t in i.targets} or {
        "acne",
        "pigmentation",
    }
    picks = [
        i
        for i in catalog.all_ingredients()
        if i.pregnancy == "safe"
        and i.strength >= 2
        and set(i.targets) & targets
        and "sunscreen_filter" not in i.groups
    ]
    picks.sort(key=lambda i: (-len(set(i.targets) & targets), -i.strength, i.name))
    return [i.name for i in picks[:4]]


def in_plan(slug: str, context: ChatContext) -> str | None:
    """Why the plan uses the ingredient, from its reasoning, or None when it does not."""
    plan = context.plan or {}
    if slug not in plan_ingredients(context):
        return None
    ingredient = catalog.get(slug=slug)
    targets = set(ingredient.targets) if ingredient else set()
    reasons = [r["decision"] for r in plan.get("reasoning", []) if r.get("metric") in targets]
    return reasons[0] if reasons else "it supports your main concerns."


def days_since(day: str, context: ChatContext) -> int | None:
    """Days from a date to today (the plan's today first), or None when today is unknown."""
    today = (context.plan or {}).get("today_date") or context.today
    if not today:
        return None
    return (date.fromisoformat(today[:10]) - date.fromisoformat(day)).days


def engine_profile(context: ChatContext) -> EngineProfile:
    """The routine engine's view of the user's profile."""
    profile = context.profile
    return EngineProfile(
        skin_type=profile.get("skin_type"),
        concerns=profile.get("concerns") or [],
        sensitivities=profile.get("sensitivities") or [],
        pregnant_or_breastfeeding=bool(profile.get("pregnant_or_breastfeeding")),
        age=profile.get("age"),
    )
