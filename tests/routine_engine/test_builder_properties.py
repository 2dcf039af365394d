"""Invariants of the plan builder over generated profiles and scores."""

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.vocabulary import METRICS, OVERALL, SkinType
from app.routine_engine import catalog
from app.routine_engine.builder import build_plan, plan_slugs
from app.routine_engine.conflicts import matches_sensitivity
from app.routine_engine.models import EngineProfile

from .helpers import (
    am_slugs,
    blocking_violations,
    every_slug,
    naive_sensitivity_hit,
    night_slugs,
    pm_base_slugs,
    retinoid_nights,
)

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None)

_ingredients = catalog.all_ingredients()
_SENSITIVITY_WORDS = sorted(
    {
        *(i.slug for i in _ingredients),
        *(g for i in _ingredients for g in i.groups),
        *(a for i in _ingredients for a in i.aliases[:1]),
        "fragrance", "essential oils", "vitamin A", "acids", "Retinoids", "chemical sunscreen", "parabens", "nuts",
    }
)  # fmt: skip
# Sensitivities that knock out the builder's first choices, so fallbacks (and their conflicts) get exercised.
_FIRST_CHOICES = [
    "palmitoyl_pentapeptide_4", "acetyl_hexapeptide_8", "sodium_ascorbyl_phosphate", "tetrahexyldecyl_ascorbate",
    "adapalene", "retinol", "salicylic_acid", "mandelic_acid", "niacinamide", "azelaic_acid", "benzoyl_peroxide",
    "zinc_oxide", "avobenzone", "centella_asiatica", "hyaluronic_acid", "ceramides", "glycerin",
]  # fmt: skip
_CONCERN_WORDS = [*METRICS, "dark spots", "fine lines", "breakouts", "dullness", "rosacea", "glow", ""]

profiles = st.builds(
    EngineProfile,
    skin_type=st.none() | st.sampled_from(list(SkinType)),
    concerns=st.lists(st.sampled_from(_CONCERN_WORDS), max_size=4),
    sensitivities=st.lists(
        st.sampled_from(_FIRST_CHOICES) | st.sampled_from(_SENSITIVITY_WORDS) | st.text(max_size=12),
        max_size=4,
    ),
    pregnant_or_breastfeeding=st.booleans(),
    age=st.none() | st.integers(min_value=0, max_value=100),
)
score_values = st.floats(min_value=0, max_value=100, allow_nan=False, allow_infinity=False)
scores = st.dictionaries(st.sampled_from([*METRICS, OVERALL]), score_values) | st.fixed_dictionaries(
    dict.fromkeys(METRICS, score_values)
)


@PROPERTY_SETTINGS
@given(profile=profiles, metric_scores=scores)
def test_no_conflicting_pair_in_am_pm_or_any_night(
    profile: EngineProfile, metric_scores: dict[str, float]
) -> None:
    plan = build_plan(profile=profile, scores=metric_scores)
    assert blocking_violations(am_slugs(plan)) == []
    assert blocking_violations(pm_base_slugs(plan)) == []
    for night in night_slugs(plan):
        assert blocking_violations(night) == []


@PROPERTY_SETTINGS
@given(profile=profiles, metric_scores=scores)
def test_am_always_ends_with_spf_30_plus_sunscreen(
    profile: EngineProfile, metric_scores: dict[str, float]
) -> None:
    plan = build_plan(profile=profile, scores=metric_scores)
    last = plan.am[-1]
    assert last.category == "sunscreen"
    assert last.spf is not None
    assert last.spf >= 30
    assert last.uses_per_week == [7, 7, 7, 7]
    assert plan.am[0].category == "cleanser"
    assert plan.pm[0].category == "cleanser"


@PROPERTY_SETTINGS
@given(profile=profiles, metric_scores=scores)
def test_pregnancy_never_yields_a_retinoid_or_salicylic_acid(
    profile: EngineProfile, metric_scores: dict[str, float]
) -> None:
    plan = build_plan(
        profile=profile.model_copy(update={"pregnant_or_breastfeeding": True}), scores=metric_scores
    )
    for slug in every_slug(plan):
        ingredient = catalog.get(slug=slug)
        assert ingredient is not None
        assert "retinoid" not in ingredient.groups
        assert ingredient.pregnancy == "safe"
        assert slug != "salicylic_acid"
    assert all(night.focus != "retinoid" for week in plan.weekly_schedule for night in week.nights)


@PROPERTY_SETTINGS
@given(profile=profiles, metric_scores=scores)
def test_no_ingredient_matches_a_sensitivity(profile: EngineProfile, metric_scores: dict[str, float]) -> None:
    plan = build_plan(profile=profile, scores=metric_scores)
    for slug in every_slug(plan):
        ingredient = catalog.get(slug=slug)
        assert ingredient is not None
        for sensitivity in profile.sensitivities:
            assert not naive_sensitivity_hit(slug, sensitivity), (slug, sensitivity)
            assert not matches_sensitivity(ingredient, sensitivity), (slug, sensitivity)


@PROPERTY_SETTINGS
@given(profile=profiles, metric_scores=scores)
def test_every_key_ingredient_exists_and_no_prescription_drug(
    profile: EngineProfile, metric_scores: dict[str, float]
) -> None:
    plan = build_plan(profile=profile, scores=metric_scores)
    for slug in every_slug(plan):
        ingredient = catalog.get(slug=slug)
        assert ingredient is not None, slug
        assert "prescription" not in ingredient.groups


@PROPERTY_SETTINGS
@given(profile=profiles, metric_scores=scores)
def test_same_input_gives_the_same_plan(profile: EngineProfile, metric_scores: dict[str, float]) -> None:
    first = build_plan(profile=profile, scores=metric_scores).model_dump(mode="json")
    second = build_plan(profile=profile.model_copy(deep=True), scores=dict(metric_scores)).model_dump(
        mode="json"
    )
    assert first == second


@PROPERTY_SETTINGS
@given(profile=profiles, metric_scores=scores)
def test_strong_actives_ramp_up(profile: EngineProfile, metric_scores: dict[str, float]) -> None:
    plan = build_plan(profile=profile, scores=metric_scores)
    early = [retinoid_nights(plan, 1), retinoid_nights(plan, 2)]
    late = [retinoid_nights(plan, 3), retinoid_nights(plan, 4)]
    assert max(early) <= min(late)
    for step in [*plan.am, *plan.pm, *(t.step for t in plan.night_treatments)]:
        uses = step.uses_per_week
        assert len(uses) == 4
        assert uses == sorted(uses)
        if any(catalog.get(slug=s).strength >= 4 for s in step.key_ingredients):  # type: ignore[union-attr]
            assert uses[0] < 7, step


@PROPERTY_SETTINGS
@given(profile=profiles, metric_scores=scores)
def test_schedule_shape(profile: EngineProfile, metric_scores: dict[str, float]) -> None:
    plan = build_plan(profile=profile, scores=metric_scores)
    assert [w.week for w in plan.weekly_schedule] == [1, 2, 3, 4]
    focuses = {t.focus for t in plan.night_treatments}
    for week in plan.weekly_schedule:
        assert [n.weekday for n in week.nights] == list(range(7))
        for night in week.nights:
            assert len(night.actives) <= 1
            assert night.focus == "rest" or night.focus in focuses
        assert any(n.focus == "rest" for n in week.nights)
    assert set(plan.primary_concerns) <= set(METRICS)
    assert set(plan_slugs(plan)) == set(every_slug(plan))
