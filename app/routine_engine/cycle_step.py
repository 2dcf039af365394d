"""Pure: a cycle-targeted step (a BHA night in the late luteal phase), offered only on evidence.

The step is proposed only when the user's own cycle insight shows a *meaningful* acne
worsening in the luteal phase (app/insights/analysis.py decides "meaningful"), and only
when it fits the plan under the engine's own rules:
- no pregnancy or breastfeeding (salicylic acid is a "caution" ingredient there) and no
  sensitivity that matches it;
- not before week 3 of the plan: strong actives are introduced gradually, and the plan's
  own actives are still ramping in weeks 1-2;
- only on the plan's *rest* nights (no other active that night), and only if nothing in
  the everyday PM routine conflicts with it (checked with the conflict rules).
"""

from pydantic import BaseModel

from app.routine_engine import catalog
from app.routine_engine.conflicts import blocking_pairs, matching_sensitivities
from app.routine_engine.models import EngineProfile, RoutinePlan

BHA = "salicylic_acid"
LATE_LUTEAL_DAYS = 7
MAX_EXTRA_NIGHTS = 2
FIRST_WEEK = 3


class CycleStep(BaseModel):
    """One targeted addition to the PM routine for the days before a period."""

    ingredient: str
    name: str
    when: str = "pm"
    days_before_period: int = LATE_LUTEAL_DAYS
    extra_nights: int = MAX_EXTRA_NIGHTS
    instructions: str
    reason: str


def cycle_targeted_step(
    *, plan: RoutinePlan, week: int, profile: EngineProfile, acne_luteal_difference: float | None
) -> CycleStep | None:
    """The step, or None when the insight is not meaningful or the step would break a rule."""
    if acne_luteal_difference is None or acne_luteal_difference >= 0:
        return None
    if profile.pregnant_or_breastfeeding or week < FIRST_WEEK:
        return None
    bha = catalog.get(slug=BHA)
    if bha is None or matching_sensitivities(bha, profile.sensitivities):
        return None
    everyday_pm = {slug for step in plan.pm for slug in step.key_ingredients}
    if any(BHA in pair[:2] for pair in blocking_pairs(slugs=everyday_pm | {BHA})):
        return None
    rest_nights = [
        n for n in plan.weekly_schedule[min(week, len(plan.weekly_schedule)) - 1].nights if not n.actives
    ]
    if not rest_nights:
        return None
    nights = min(MAX_EXTRA_NIGHTS, len(rest_nights))
    return CycleStep(
        ingredient=BHA,
        name=bha.name,
        extra_nights=nights,
        instructions=(
            f"In the {LATE_LUTEAL_DAYS} days before your predicted period, use a 0.5-2% {bha.name.lower()} "
            f"leave-on on chin and jaw on up to {nights} of your rest nights (never on a night with another "
            "active), after cleansing and before moisturiser. Stop if it stings or peels."
        ),
        reason=(
            f"Your scans show your acne score {abs(acne_luteal_difference):.0f} points lower in your "
            "luteal phase, more than photo noise and chance explain."
        ),
    )
