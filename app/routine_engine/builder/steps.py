"""Routine steps: how one is written (frequency text), the routines being filled, and the final order."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from app.routine_engine.builder.context import DAILY, WEEKS
from app.routine_engine.models import RoutineStep, StepCategory

_ORDER = {
    "am": (
        "cleanser",
        "toner",
        "serum",
        "treatment",
        "spot_treatment",
        "eye_cream",
        "moisturizer",
        "occlusive",
        "sunscreen",
    ),
    "pm": (
        "cleanser",
        "toner",
        "night_treatment",
        "serum",
        "treatment",
        "spot_treatment",
        "eye_cream",
        "moisturizer",
        "occlusive",
    ),
}


def frequency(uses: Sequence[int], unit: str) -> str:
    """'daily', '2 nights/week', 'not in weeks 1-2, then 1 night/week', ... from uses per week."""

    def one(n: int) -> str:
        if n >= DAILY:
            return "daily"
        return f"{n} {unit if n != 1 else unit.removesuffix('s')}/week"

    early, late = uses[0], uses[-1]
    if all(u >= DAILY for u in uses):
        return "daily"
    if early == late:
        return one(early)
    if early == 0:
        return f"not in weeks 1-2, then {one(late)}"
    return f"{one(early)} in weeks 1-2, then {one(late)}"


def make_step(
    category: StepCategory,
    product_type: str,
    keys: list[str],
    instructions: str,
    *,
    uses: Sequence[int] = (DAILY,) * WEEKS,
    unit: str = "days",
    spf: int | None = None,
    optional: bool = False,
) -> RoutineStep:
    """An unnumbered step (numbers are given once the routine is ordered)."""
    return RoutineStep(
        step=0,
        category=category,
        product_type=product_type,
        key_ingredients=keys,
        instructions=instructions,
        frequency=frequency(uses, unit),
        uses_per_week=list(uses),
        spf=spf,
        optional=optional,
    )


def numbered(steps: list[RoutineStep]) -> list[RoutineStep]:
    """The steps numbered 1..n in their current order."""
    return [s.model_copy(update={"step": i}) for i, s in enumerate(steps, start=1)]


def ordered(steps: list[RoutineStep], slot: str) -> list[RoutineStep]:
    """cleanse -> tone -> treat -> eye -> moisturise -> protect; stable within a category."""
    return numbered(sorted(steps, key=lambda s: _ORDER[slot].index(s.category)))


def add(steps: list[RoutineStep], new: RoutineStep | None) -> None:
    """Append a step that may not apply to this user."""
    if new is not None:
        steps.append(new)


@dataclass
class Routines:
    """Slugs already placed: the AM routine, the nightly PM steps and each night's active."""

    am: list[RoutineStep] = field(default_factory=list)
    pm: list[RoutineStep] = field(default_factory=list)
    nights: list[list[str]] = field(default_factory=list)

    def am_slugs(self) -> list[str]:
        """Key ingredients of the morning steps so far."""
        return [s for step in self.am for s in step.key_ingredients]

    def pm_slugs(self) -> list[str]:
        """Key ingredients of the nightly evening steps so far."""
        return [s for step in self.pm for s in step.key_ingredients]

    def contexts(self, slot: str) -> list[list[str]]:
        """Every set of slugs a new step in this slot will share a routine with."""
        if slot == "am":
            return [self.am_slugs()]
        base = self.pm_slugs()
        return [base, *([*base, *night] for night in self.nights)]
