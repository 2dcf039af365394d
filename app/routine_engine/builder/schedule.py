"""The weekly night schedule (retinoid and exfoliant nights never meet) and one day of a plan."""

from typing import Any

from app.routine_engine.builder.context import DAILY, DAY_NAMES, WEEKS
from app.routine_engine.builder.selection import display_name, focus_of
from app.routine_engine.builder.steps import numbered
from app.routine_engine.models import NightPlan, RoutinePlan, RoutineStep, WeekPlan
from app.routine_engine.names import unique

# Which weekdays (0 = Monday) carry a step used n times a week: spread out, Monday first.
SPREAD: dict[int, tuple[int, ...]] = {
    0: (),
    1: (0,),
    2: (0, 3),
    3: (0, 2, 4),
    4: (0, 2, 4, 6),
    5: (0, 1, 3, 4, 6),
    6: (0, 1, 2, 3, 4, 5),
    7: (0, 1, 2, 3, 4, 5, 6),
}
# Exfoliant nights prefer the weekend and mid-week, away from retinoid nights.
_EXFOLIANT_DAY_PREFERENCE = (5, 2, 6, 1, 3, 4, 0)


def exfoliant_nights(retinoid_days: tuple[int, ...], count: int) -> tuple[int, ...]:
    """Exfoliant weekdays: free of retinoid nights, away from their neighbours where possible."""
    free = [d for d in range(7) if d not in retinoid_days]

    def preference(day: int) -> tuple[bool, bool, int]:
        after = (day - 1) % 7 in retinoid_days
        before = (day + 1) % 7 in retinoid_days
        return after, before, _EXFOLIANT_DAY_PREFERENCE.index(day)

    return tuple(sorted(sorted(free, key=preference)[:count]))


def schedule(
    renewal: str | None, exfoliant: str | None, renewal_uses: list[int], exfoliant_uses: list[int]
) -> list[WeekPlan]:
    """Four weeks of nights: retinoid-slot, exfoliant or rest."""
    plans: list[WeekPlan] = []
    for week in range(1, WEEKS + 1):
        renewal_days = SPREAD[renewal_uses[week - 1]] if renewal else ()
        exfoliant_days = exfoliant_nights(renewal_days, exfoliant_uses[week - 1]) if exfoliant else ()
        nights: list[NightPlan] = []
        for day in range(7):
            if renewal and day in renewal_days:
                nights.append(
                    NightPlan(weekday=day, day=DAY_NAMES[day], focus=focus_of(renewal), actives=[renewal])
                )
            elif exfoliant and day in exfoliant_days:
                nights.append(
                    NightPlan(weekday=day, day=DAY_NAMES[day], focus="exfoliant", actives=[exfoliant])
                )
            else:
                nights.append(NightPlan(weekday=day, day=DAY_NAMES[day], focus="rest", actives=[]))
        plans.append(WeekPlan(week=week, nights=nights, summary=week_summary(week, nights)))
    return plans


def week_summary(week: int, nights: list[NightPlan]) -> str:
    """'Week 1: Adapalene Mon/Thu; 5 rest nights'."""
    parts: list[str] = []
    for slug in unique(s for n in nights for s in n.actives):
        days = "/".join(n.day for n in nights if slug in n.actives)
        parts.append(f"{display_name(slug)} {days}")
    rest = sum(n.focus == "rest" for n in nights)
    parts.append(f"{rest} rest night{'s' if rest != 1 else ''}")
    return f"Week {week}: " + "; ".join(parts)


def night_step_number(step: RoutineStep, pm_steps: list[RoutineStep]) -> RoutineStep:
    """A night active takes the number of the PM 'night_treatment' placeholder it replaces."""
    slot = next(s.step for s in pm_steps if s.category == "night_treatment")
    return step.model_copy(update={"step": slot})


def used_on(step: RoutineStep, *, week_index: int, weekday: int) -> bool:
    """Whether a step is used on that weekday of that week."""
    return weekday in SPREAD[min(step.uses_per_week[week_index], DAILY)]


def today(plan: RoutinePlan, *, week: int, weekday: int) -> dict[str, Any]:
    """That day's AM and PM steps (weekday 0 = Monday); weeks after 4 repeat week 4 (maintenance)."""
    if week < 1:
        raise ValueError("week starts at 1")
    if not 0 <= weekday <= 6:
        raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
    index = min(week, WEEKS) - 1
    night = plan.weekly_schedule[index].nights[weekday]
    am = [s for s in plan.am if used_on(s, week_index=index, weekday=weekday)]
    pm: list[RoutineStep] = []
    for step in plan.pm:
        if step.category == "night_treatment":
            pm += [t.step for t in plan.night_treatments if t.focus == night.focus]
        elif used_on(step, week_index=index, weekday=weekday):
            pm.append(step)
    return {
        "week": week,
        "weekday": weekday,
        "day": DAY_NAMES[weekday],
        "night_focus": night.focus,
        "night_actives": list(night.actives),
        "am": [s.model_dump(mode="json") for s in numbered(am)],
        "pm": [s.model_dump(mode="json") for s in numbered(pm)],
    }
