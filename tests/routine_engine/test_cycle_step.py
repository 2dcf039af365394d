"""The cycle-targeted BHA step: offered only on a meaningful luteal acne worsening, within the engine's rules."""

from app.routine_engine.builder import build_plan
from app.routine_engine.conflicts import blocking_pairs
from app.routine_engine.cycle_step import BHA, cycle_targeted_step
from app.routine_engine.models import EngineProfile, RoutinePlan

SCORES = {"acne": 45.0, "redness": 60.0, "hydration": 55.0, "overall": 55.0}


def plan_for(profile: EngineProfile) -> RoutinePlan:
    return build_plan(profile=profile, scores=SCORES)


def test_a_meaningful_luteal_worsening_adds_a_bha_step_on_rest_nights_only() -> None:
    profile = EngineProfile(skin_type="oily", concerns=["acne"])
    plan = plan_for(profile)
    step = cycle_targeted_step(plan=plan, week=3, profile=profile, acne_luteal_difference=-9.0)
    assert step is not None
    assert step.ingredient == BHA
    assert 1 <= step.extra_nights <= 2
    assert "9 points lower in your luteal phase" in step.reason
    assert "never on a night with another active" in step.instructions
    everyday = {s for p in plan.pm for s in p.key_ingredients}
    assert not [p for p in blocking_pairs(slugs=everyday | {BHA}) if BHA in p[:2]]


def test_no_step_without_a_meaningful_worsening() -> None:
    profile = EngineProfile(skin_type="oily", concerns=["acne"])
    plan = plan_for(profile)
    assert cycle_targeted_step(plan=plan, week=3, profile=profile, acne_luteal_difference=None) is None
    assert cycle_targeted_step(plan=plan, week=3, profile=profile, acne_luteal_difference=6.0) is None


def test_no_step_in_pregnancy_with_a_salicylic_sensitivity_or_in_the_first_weeks() -> None:
    pregnant = EngineProfile(skin_type="oily", concerns=["acne"], pregnant_or_breastfeeding=True)
    assert (
        cycle_targeted_step(plan=plan_for(pregnant), week=3, profile=pregnant, acne_luteal_difference=-9)
        is None
    )
    sensitive = EngineProfile(skin_type="oily", concerns=["acne"], sensitivities=["salicylic acid"])
    assert (
        cycle_targeted_step(plan=plan_for(sensitive), week=3, profile=sensitive, acne_luteal_difference=-9)
        is None
    )
    profile = EngineProfile(skin_type="oily", concerns=["acne"])
    assert (
        cycle_targeted_step(plan=plan_for(profile), week=1, profile=profile, acne_luteal_difference=-9)
        is None
    )
