"""Answers about the plan: today's routine, when an ingredient is used, the plan and its lock, adherence."""

from typing import Any

from app.providers.assistant.base import ChatContext
from app.providers.assistant.local import phrases
from app.providers.assistant.local.common import current_week, label_of, plan_member, steps_text, when_used
from app.providers.assistant.understanding import Request


def routine(request: Request, context: ChatContext) -> str:
    """Today's morning and/or evening steps."""
    plan = context.plan
    if not plan:
        return phrases.NO_PLAN_FOR_ROUTINE
    today = plan.get("today") or {}
    parts = [f"Week {plan.get('current_week')} of your plan."]
    if request.time_of_day in {"am", None}:
        parts.append("Morning:\n" + steps_text(today.get("am", [])))
    if request.time_of_day in {"pm", None}:
        night = today.get("night_focus")
        header = f"Evening ({night.replace('_', ' ')} night):" if night else "Evening:"
        parts.append(header + "\n" + steps_text(today.get("pm", [])))
    return "\n\n".join(parts)


def schedule(request: Request, context: ChatContext) -> str:
    """When the plan uses each named ingredient, or this week's nights."""
    plan = context.plan
    subject = request.subject_ingredients
    if not plan:
        return phrases.NO_PLAN_FOR_SCHEDULE
    if not subject:
        return night_overview(plan)
    return "\n\n".join(when_used(plan_member(slug, request, context), plan, request) for slug in subject[:3])


def night_overview(plan: dict[str, Any]) -> str:
    """This week's night schedule and what tonight is."""
    week = current_week(plan)
    today = plan.get("today") or {}
    tonight = today.get("night_focus", "rest")
    lines = [f"This week (week {plan.get('current_week')}): {week.get('summary', '')}".rstrip()]
    lines.append(f"Tonight ({today.get('day', 'today')}) is a {tonight.replace('_', ' ')} night.")
    return "\n".join(lines)


def plan_status(request: Request, context: ChatContext) -> str:
    """Where the user is in the plan, its lock and why, and its focus."""
    plan = context.plan
    if not plan:
        return phrases.NO_PLAN
    lines = [
        f"Your plan started {plan.get('start_date')} and you are in week {plan.get('current_week')} "
        f"(day {plan.get('days_elapsed', 0) + 1})."
    ]
    if plan.get("is_locked"):
        lines.append(
            f"It is locked for {plan.get('days_remaining')} more day(s), so it can't be changed or replaced yet. "
            "Why: skin renews in about 28 days, and a routine needs that full cycle before its effect shows; "
            "switching earlier resets the clock and makes it impossible to tell what worked."
        )
        lines.append(phrases.ADVERSE_REACTION_EXCEPTION)
    else:
        lines.append(phrases.LOCK_OVER)
    if plan.get("primary_concerns"):
        lines.append("It focuses on: " + ", ".join(label_of(c) for c in plan["primary_concerns"]) + ".")
    return "\n".join(lines)


def adherence(request: Request, context: ChatContext) -> str:
    """Morning and evening completion and the current streak."""
    stats = context.adherence
    if not stats:
        return "There is no active plan to track yet."
    return (
        f"So far you have done {stats['am_percent']:.0f}% of morning and {stats['pm_percent']:.0f}% of evening routines, "
        f"with a current streak of {stats['streak_days']} day(s). Consistency matters more than perfection: "
        "if you miss a night, just continue the next day; never double up on actives."
    )
