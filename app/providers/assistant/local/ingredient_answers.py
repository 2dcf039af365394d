"""Answers about ingredients: combinations, what one does, pregnancy safety, side effects, sunscreen."""

from app.providers.assistant.base import ChatContext
from app.providers.assistant.local import phrases
from app.providers.assistant.local.common import (
    engine_profile,
    in_group,
    in_plan,
    label_of,
    lock_note,
    not_safe,
    plan_ingredients,
    safe_alternatives,
)
from app.providers.assistant.local.other_answers import unknown
from app.providers.assistant.understanding import Request, ingredient_name
from app.routine_engine import catalog
from app.routine_engine.conflicts import check as check_conflicts


def interaction(request: Request, context: ChatContext) -> str:
    """Whether the named ingredients go together, by the conflict rules and the user's profile."""
    slugs = [s for s in request.subject_ingredients if catalog.get(slug=s)]
    if len(slugs) < 2:
        return ingredient_facts(request, context) if slugs else (phrases.ASK_FOR_TWO_INGREDIENTS)
    report = check_conflicts(ingredients=slugs, profile=engine_profile(context))
    names = " and ".join(ingredient_name(s) for s in slugs)
    if not report.conflicts and not report.cautions:
        return f"I know of no conflict between {names}; you can use them in the same routine. Patch-test anything new."
    lines = [f"About {names}:"]
    for finding in report.conflicts:
        lines.append(
            f"- {finding.severity.upper()}: {finding.a.name} + {finding.b.name}. {finding.reason} Fix: {finding.fix_text}"
        )
    for caution in report.cautions:
        lines.append(f"- For you: {caution.name}: {caution.reason}")
    return "\n".join(lines)


def ingredient_facts(request: Request, context: ChatContext) -> str:
    """What each named ingredient does, and why it is in the plan."""
    slugs = request.subject_ingredients
    if not slugs:
        return unknown(request, context)
    parts = []
    for slug in slugs[:3]:
        ingredient = catalog.get(slug=slug)
        if ingredient is None:
            parts.append(
                f"{ingredient_name(slug)} is a prescription medicine, not something a skincare routine replaces: "
                "a dermatologist decides whether it suits you."
            )
            continue
        targets = ", ".join(label_of(t) for t in ingredient.targets) or "general skin care"
        functions = ", ".join(f.replace("_", " ") for f in ingredient.functions[:3]) or "skincare ingredient"
        text = f"{ingredient.name} ({functions}): helps with {targets}. {ingredient.usage_notes}"
        reason = in_plan(slug, context)
        if reason:
            text += f" It is in your plan because: {reason}"
        parts.append(text)
    return "\n\n".join(parts)


def pregnancy_safety(request: Request, context: ChatContext) -> str:
    """The 'no' lines come from the safety layer; this adds what is safe and what the plan holds."""
    who = "breastfeeding" if request.pregnancy == "breastfeeding" else "pregnancy"
    subject = request.subject_ingredients
    lines: list[str] = []
    for slug in subject:
        ingredient = catalog.get(slug=slug)
        if ingredient is not None and ingredient.pregnancy == "safe":
            lines.append(
                f"Yes: {ingredient.name} is considered safe in pregnancy and while breastfeeding in our ingredient data."
            )
    unsafe_plan = [s for s in plan_ingredients(context) if not_safe(s)]
    if unsafe_plan:
        names = ", ".join(ingredient_name(s) for s in unsafe_plan)
        lines.append(
            f"Your current plan includes {names}: stop using it now and treat those nights as rest nights. "
            "Turn on 'pregnant or breastfeeding' in your profile so every new plan leaves retinoids out."
            + lock_note(context)
        )
    elif context.plan and not subject:
        lines.append(phrases.PLAN_PREGNANCY_SAFE)
    if any(not_safe(s) for s in subject) or not subject:
        alternatives = safe_alternatives(subject)
        if alternatives:
            lines.append(f"Options considered safe during {who}: " + ", ".join(alternatives) + ".")
    lines.append(phrases.CHECK_WITH_DOCTOR)
    return "\n".join(lines)


def side_effects(request: Request, context: ChatContext) -> str:
    """What is normal when actives start, how to adjust, and when to stop."""
    subject = request.subject_ingredients
    retinoids = [s for s in subject if in_group(s, "retinoid")]
    acids = [s for s in subject if in_group(s, "exfoliating_acid")]
    in_plan_retinoid = any(in_group(s, "retinoid") for s in plan_ingredients(context))
    lines = []
    if subject:
        names = " and ".join(ingredient_name(s) for s in subject[:2])
        lines.append(
            f"About {names}: mild dryness, flaking, peeling or tingling in the first weeks is common."
        )
    else:
        lines.append(phrases.EARLY_WEEKS_COMMON)
    if retinoids or (not subject and in_plan_retinoid):
        lines.append(phrases.RETINOID_ADJUSTMENT)
    elif acids:
        lines.append(phrases.ACID_ADJUSTMENT)
    lines.append(phrases.WHEN_TO_STOP)
    return "\n".join(lines)


def sunscreen(request: Request, context: ChatContext) -> str:
    """How to use sunscreen, with the plan's own sunscreen step."""
    plan = context.plan or {}
    step = next((s for s in plan.get("am", []) if s.get("category") == "sunscreen"), None)
    base = phrases.SUNSCREEN_BASICS
    if step:
        base += f" In your plan: {step.get('product_type')} - {step.get('instructions')}"
    if any(in_group(s, "retinoid") for s in plan_ingredients(context)):
        base += phrases.RETINOID_SUN_NOTE
    return base
