"""The two night actives: the retinoid slot (or bakuchiol) and the exfoliant slot, their ramp-up and steps."""

from app.core.vocabulary import SkinType
from app.routine_engine.builder.context import MILD, MODERATE, WEEKS, Ctx
from app.routine_engine.builder.selection import display_name, first_allowed, focus_of
from app.routine_engine.builder.steps import make_step
from app.routine_engine.builder.texts import texts
from app.routine_engine.models import NightTreatment, RoutineStep

_RENEWAL_DRIVERS = {
    "acne": MODERATE,
    "wrinkles": MILD,
    "texture": MODERATE,
    "pigmentation": MODERATE,
    "pores": MODERATE,
    "evenness": MODERATE,
}
_EXFOLIANT_DRIVERS = {
    "texture": MILD,
    "pores": MODERATE,
    "acne": MODERATE,
    "oiliness": MODERATE,
    "pigmentation": MODERATE,
    "evenness": MODERATE,
}


def choose_renewal(ctx: Ctx) -> str | None:
    """The retinoid-slot active (or bakuchiol), or None when no score calls for one."""
    drivers = [m for m, level in _RENEWAL_DRIVERS.items() if ctx.need[m] >= level]
    if not drivers or ctx.child or (ctx.minor and ctx.need["acne"] < MODERATE):
        return None
    if ctx.pregnant:
        options: list[str] = ["bakuchiol"]
    elif ctx.gentle:
        options = ["retinol", "hydroxypinacolone_retinoate", "bakuchiol"]
    elif ctx.need["acne"] >= MODERATE:
        options = ["adapalene", "retinal", "retinol", "bakuchiol"]
    elif ctx.need["wrinkles"] >= MODERATE and ctx.profile.skin_type != SkinType.DRY:
        options = ["retinal", "retinol", "hydroxypinacolone_retinoate", "bakuchiol"]
    else:
        options = ["retinol", "hydroxypinacolone_retinoate", "bakuchiol"]
    slug = first_allowed(ctx, options)
    if slug:
        label = "retinoid nights" if focus_of(slug) == "retinoid" else "nights in place of a retinoid"
        for metric in drivers:
            ctx.decide(metric, f"{display_name(slug)} on {label} (ramped up over 4 weeks)")
    return slug


def choose_exfoliant(ctx: Ctx) -> str | None:
    """The exfoliant-slot acid, or None when no score calls for one."""
    drivers = [m for m, level in _EXFOLIANT_DRIVERS.items() if ctx.need[m] >= level]
    if not drivers or ctx.child:
        return None
    congested = any(ctx.need[m] >= MODERATE for m in ("acne", "pores", "oiliness"))
    congested = congested and ctx.profile.skin_type != SkinType.DRY
    tone = any(ctx.need[m] >= MODERATE for m in ("pigmentation", "texture", "evenness"))
    if ctx.gentle:
        options = ["mandelic_acid", "gluconolactone"] if congested else ["gluconolactone", "mandelic_acid"]
    elif congested:
        options = ["salicylic_acid", "mandelic_acid", "gluconolactone"]
    elif ctx.profile.skin_type == SkinType.DRY:
        options = ["lactic_acid", "gluconolactone", "mandelic_acid"]
    elif tone:
        options = ["glycolic_acid", "lactic_acid", "mandelic_acid", "gluconolactone"]
    else:
        options = ["lactic_acid", "mandelic_acid", "gluconolactone"]
    slug = first_allowed(ctx, [*options, "lactobionic_acid"])
    if slug:
        for metric in drivers:
            ctx.decide(metric, f"{display_name(slug)} on exfoliant nights (never on a retinoid night)")
    return slug


def ramps(ctx: Ctx, renewal: str | None, exfoliant: str | None) -> tuple[list[int], list[int]]:
    """Nights per week for weeks 1-4: start low, step up in week 3."""

    def weeks(early: int, late: int) -> list[int]:
        return [early, early, late, late]

    renewal_uses = [0] * WEEKS
    if renewal == "bakuchiol":
        renewal_uses = weeks(2, 3) if ctx.gentle else weeks(3, 4)
    elif renewal:
        renewal_uses = weeks(1, 2) if ctx.gentle else weeks(2, 3)
    exfoliant_uses = [0] * WEEKS
    if exfoliant and renewal:
        exfoliant_uses = weeks(0, 1) if ctx.gentle else weeks(1, 1)
    elif exfoliant:
        exfoliant_uses = weeks(1, 1) if ctx.gentle else weeks(1, 2)
    return renewal_uses, exfoliant_uses


def renewal_step(ctx: Ctx, slug: str, uses: list[int]) -> RoutineStep:
    """The retinoid-slot step, with its product text."""
    product, how = texts().renewal.get(slug, (f"{display_name(slug)} product", "Apply as directed."))
    if slug == "retinol" and ctx.gentle:
        product, how = texts().gentle_retinol
    how += " If skin stings or peels, drop back to the previous week's number of nights."
    return make_step("night_treatment", product, [slug], how, uses=uses, unit="nights")


def exfoliant_step(slug: str, uses: list[int]) -> RoutineStep:
    """The exfoliant-slot step, with its product text."""
    product, how = texts().exfoliant.get(slug, (f"{display_name(slug)} exfoliant", "Apply as directed."))
    how += " No retinoid or other acid on the same night."
    return make_step("night_treatment", product, [slug], how, uses=uses, unit="nights")


def night_slot(night_treatments: list[NightTreatment], uses: list[int]) -> RoutineStep:
    """The PM placeholder step that stands for tonight's active."""
    names = "; ".join(f"{t.focus.replace('_', ' ')} nights: {t.step.product_type}" for t in night_treatments)
    how = f"Use tonight's active from the weekly schedule ({names}); skip on rest nights."
    return make_step(
        "night_treatment", "tonight's active (see weekly schedule)", [], how, uses=uses, unit="nights"
    )
