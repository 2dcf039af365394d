"""Assembly: runs the steps of a build in order and puts the plan together."""

from collections.abc import Mapping

from app.routine_engine import catalog
from app.routine_engine.builder.context import concern_metric, make_context, validate_scores
from app.routine_engine.builder.explanation import (
    plan_warnings,
    primary_concerns,
    profile_decisions,
    reasoning,
)
from app.routine_engine.builder.fixed_steps import (
    benzoyl_peroxide,
    cleanser,
    eye_cream,
    moisturiser,
    occlusive,
    spot_treatment,
    sunscreen,
)
from app.routine_engine.builder.night_actives import (
    choose_exfoliant,
    choose_renewal,
    exfoliant_step,
    night_slot,
    ramps,
    renewal_step,
)
from app.routine_engine.builder.schedule import night_step_number, schedule
from app.routine_engine.builder.selection import focus_of
from app.routine_engine.builder.serums import place_modules
from app.routine_engine.builder.steps import Routines, add, ordered
from app.routine_engine.models import EngineProfile, NightTreatment, RoutinePlan
from app.routine_engine.names import unique

ENGINE_VERSION = "1.0"


def build_plan(*, profile: EngineProfile, scores: Mapping[str, float]) -> RoutinePlan:
    """Build a 4-week AM/PM plan from a profile and 0-100 scores (higher = healthier)."""
    ctx = make_context(profile, validate_scores(scores))
    unknown_concerns = [c for c in profile.concerns if concern_metric(c) is None]
    profile_decisions(ctx)

    renewal = choose_renewal(ctx)
    exfoliant = choose_exfoliant(ctx)
    renewal_uses, exfoliant_uses = ramps(ctx, renewal, exfoliant)
    night_treatments: list[NightTreatment] = []
    if renewal:
        night_treatments.append(
            NightTreatment(focus=focus_of(renewal), step=renewal_step(ctx, renewal, renewal_uses))
        )
    if exfoliant:
        night_treatments.append(
            NightTreatment(focus="exfoliant", step=exfoliant_step(exfoliant, exfoliant_uses))
        )

    # Steps are added most-constrained first; each addition is checked against what is already placed.
    routines = Routines(nights=[[slug] for slug in (renewal, exfoliant) if slug])
    routines.am.append(cleanser(ctx, "am"))
    routines.pm.append(cleanser(ctx, "pm"))
    if night_treatments:
        uses = [r + e for r, e in zip(renewal_uses, exfoliant_uses, strict=True)]
        routines.pm.append(night_slot(night_treatments, uses))
    # Benzoyl peroxide goes first so that vitamin C then picks a form that tolerates it.
    bp = benzoyl_peroxide(ctx, routines)
    add(routines.am, bp)
    place_modules(ctx, routines)
    if bp is None:
        add(routines.am, spot_treatment(ctx, routines))
    add(routines.am, eye_cream(ctx, routines, "am"))
    add(routines.pm, eye_cream(ctx, routines, "pm"))
    routines.am.append(moisturiser(ctx, routines, "am"))
    routines.pm.append(moisturiser(ctx, routines, "pm"))
    add(routines.pm, occlusive(ctx, routines))
    named = [*routines.am_slugs(), *routines.pm_slugs(), *(s for night in routines.nights for s in night)]
    photosensitising = any((i := catalog.get(slug=s)) is not None and i.photosensitising for s in named)
    routines.am.append(sunscreen(ctx, routines, photosensitising))

    plan = RoutinePlan(
        engine_version=ENGINE_VERSION,
        catalog_version=catalog.load_catalog().version,
        skin_type=profile.skin_type,
        primary_concerns=primary_concerns(ctx),
        am=ordered(routines.am, "am"),
        pm=ordered(routines.pm, "pm"),
        night_treatments=[],
        weekly_schedule=schedule(renewal, exfoliant, renewal_uses, exfoliant_uses),
        warnings=[],
        reasoning=reasoning(ctx),
    )
    plan.night_treatments = [
        t.model_copy(update={"step": night_step_number(t.step, plan.pm)}) for t in night_treatments
    ]
    plan.warnings = plan_warnings(ctx, plan_slugs(plan), unknown_concerns)
    return plan


def plan_slugs(plan: RoutinePlan) -> list[str]:
    """Every ingredient slug the plan names (steps, night actives and schedule), in order of appearance."""
    steps = [*plan.am, *plan.pm, *(t.step for t in plan.night_treatments)]
    scheduled = (s for w in plan.weekly_schedule for n in w.nights for s in n.actives)
    return unique([*(s for step in steps for s in step.key_ingredients), *scheduled])
