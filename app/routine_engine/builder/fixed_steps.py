"""The steps every routine has (cleanser, moisturiser, sunscreen) and the ones a need adds (acne, eyes, occlusive)."""

from app.core.vocabulary import SkinType
from app.routine_engine.builder.context import DAILY, HIGH, MILD, MODERATE, WEEKS, Ctx
from app.routine_engine.builder.selection import (
    allowed,
    display_name,
    first_allowed,
    supporting_keys,
    top_driver,
)
from app.routine_engine.builder.steps import Routines, make_step
from app.routine_engine.builder.texts import texts
from app.routine_engine.models import RoutineStep


def cleanser(ctx: Ctx, slot: str) -> RoutineStep:
    """The cleanser for this skin; the evening one starts with a first cleanse."""
    skin = ctx.profile.skin_type
    if ctx.gentle:
        product, options = "fragrance-free, non-foaming gentle cleanser", ["glycerin"]
    elif skin == SkinType.DRY or ctx.need["hydration"] >= HIGH:
        product, options = "cream or milky non-foaming cleanser", ["glycerin", "ceramides"]
    elif skin == SkinType.OILY:
        product, options = "gentle foaming gel cleanser", ["glycerin"]
    else:
        product, options = "gentle low-pH gel cleanser", ["glycerin"]
    how = "Massage onto damp skin for 30-60 seconds with lukewarm water; pat dry."
    if slot == "pm":
        how = "If you wore sunscreen or make-up, start with a cleansing balm or micellar water. " + how
    return make_step("cleanser", product, supporting_keys(ctx, options), how)


def moisturiser(ctx: Ctx, routines: Routines, slot: str) -> RoutineStep:
    """The moisturiser for this skin, with a humectant and a barrier lipid when hydration is low."""
    skin = ctx.profile.skin_type
    dry = skin == SkinType.DRY or ctx.need["hydration"] >= MODERATE
    if ctx.gentle:
        product, options = "fragrance-free barrier moisturiser", ["ceramides", "glycerin", "panthenol"]
    elif dry:
        product, options = "barrier-repair cream", ["ceramides", "cholesterol", "fatty_acids", "glycerin"]
        if slot == "pm":
            product, options = "rich barrier-repair cream", [*options, "shea_butter"]
    elif skin == SkinType.OILY:
        product, options = "light oil-free gel moisturiser", ["glycerin", "dimethicone"]
    else:
        product, options = "light lotion moisturiser", ["glycerin", "ceramides"]
    if ctx.need["hydration"] >= MODERATE:
        options = [*options, "ceramides", "glycerin", "hyaluronic_acid"]  # humectant + barrier lipid, always
    how = "Apply to the whole face while skin is still slightly damp."
    if slot == "pm":
        how += " On retinoid nights it also cushions irritation."
    return make_step("moisturizer", product, supporting_keys(ctx, options, routines.contexts(slot)), how)


def sunscreen(ctx: Ctx, routines: Routines, photosensitising: bool) -> RoutineStep:
    """The last morning step: SPF 50 with photosensitising actives or pigmentation, mineral for reactive skin."""
    spf = 50 if photosensitising or ctx.need["pigmentation"] >= MILD else 30
    mineral = ctx.gentle or ctx.pregnant or ctx.child or ctx.need["redness"] >= MODERATE
    minerals = ["zinc_oxide", "titanium_dioxide"]
    organics = ["avobenzone", "octocrylene", "bemotrizinol", "dhhb", "ethylhexyl_triazone", "octisalate"]
    order = [*minerals, *organics] if mineral else [*organics, *minerals]
    filters = supporting_keys(ctx, order, routines.contexts("am"))[:2]
    tinted = ctx.need["pigmentation"] >= MODERATE and allowed(ctx, "iron_oxides")
    keys = [*filters, "iron_oxides"] if tinted else filters
    kind = "mineral " if filters and filters[0] in minerals else ""
    product = f"{'tinted ' if tinted else ''}{kind}broad-spectrum SPF {spf}+ sunscreen (UVA + UVB)"
    how = (
        "Last step every morning: two finger-lengths for face and neck, 15 minutes before going out; "
        "reapply every 2 hours outdoors and after sweating or swimming."
    )
    if tinted:
        how += " The tint (iron oxides) also blocks visible light, which darkens pigmentation."
    if not filters:
        ctx.warnings.append(texts().warnings["no_uv_filter"])
    return make_step("sunscreen", product, keys, how, spf=spf)


def benzoyl_peroxide(ctx: Ctx, routines: Routines) -> RoutineStep | None:
    """Benzoyl peroxide goes in the morning, where it cannot meet the night retinoid."""
    if ctx.child or ctx.need["acne"] < MODERATE or (ctx.gentle and ctx.need["acne"] < HIGH):
        return None
    if first_allowed(ctx, ["benzoyl_peroxide"], routines.contexts("am")) is None:
        return None
    uses = [4, 4, DAILY, DAILY]
    if ctx.gentle:
        ctx.decide("acne", "benzoyl peroxide 2.5% on spots only, in the morning")
        how = "Dab onto active spots only after serums; let it dry before moisturiser. Bleaches fabric."
        return make_step(
            "spot_treatment", "benzoyl peroxide 2.5% spot gel", ["benzoyl_peroxide"], how, uses=uses
        )
    ctx.decide("acne", "benzoyl peroxide 2.5% gel on acne-prone areas in the morning")
    how = (
        "Thin layer over acne-prone areas (not just spots) after serums; let it dry before moisturiser. "
        "Bleaches towels and fabric."
    )
    return make_step(
        "treatment", "benzoyl peroxide 2.5% gel", ["benzoyl_peroxide"], how, uses=uses, unit="mornings"
    )


def spot_treatment(ctx: Ctx, routines: Routines) -> RoutineStep | None:
    """An optional morning spot treatment for acne, when benzoyl peroxide is not already a step."""
    if ctx.child or ctx.need["acne"] < MODERATE:
        return None
    slug = first_allowed(ctx, ["sulfur", "benzoyl_peroxide"], routines.contexts("am"))
    if slug is None:
        return None
    ctx.decide("acne", f"{display_name(slug)} spot treatment in the morning")
    uses = [4, 4, DAILY, DAILY] if slug == "benzoyl_peroxide" else [DAILY] * WEEKS
    how = "Dab onto active spots only; let it dry before moisturiser."
    return make_step(
        "spot_treatment",
        f"{display_name(slug).lower()} spot treatment",
        [slug],
        how,
        uses=uses,
        optional=True,
    )


def eye_cream(ctx: Ctx, routines: Routines, slot: str) -> RoutineStep | None:
    """Caffeine gel in the morning, peptide cream at night, when the eye area calls for it."""
    if slot == "am":
        if ctx.child or ctx.need["dark_circles"] < MODERATE:
            return None
        keys = supporting_keys(ctx, ["caffeine"], routines.contexts("am"))
        if not keys:
            return None
        ctx.decide("dark_circles", "caffeine eye gel in the morning (de-puffing; modest effect)")
        how = "Tap a rice-grain amount along the orbital bone with the ring finger."
        return make_step("eye_cream", "caffeine eye gel", keys, how, optional=True)
    if ctx.minor or max(ctx.need["dark_circles"], ctx.need["wrinkles"]) < MODERATE:
        return None
    keys = supporting_keys(ctx, ["palmitoyl_pentapeptide_4", "ceramides"], routines.contexts("pm"))
    if not keys:
        return None
    ctx.decide(top_driver(ctx, ["dark_circles", "wrinkles"]), "peptide eye cream at night")
    how = "Tap a rice-grain amount along the orbital bone; keep retinoids and acids away from the eye area."
    return make_step("eye_cream", "peptide eye cream", keys, how, optional=True)


def occlusive(ctx: Ctx, routines: Routines) -> RoutineStep | None:
    """A thin petrolatum layer at night for very dry, not acne-prone, skin."""
    if ctx.need["hydration"] < HIGH or ctx.acne_prone:
        return None
    keys = supporting_keys(ctx, ["petrolatum"], routines.contexts("pm"))
    if not keys:
        return None
    ctx.decide("hydration", "thin petrolatum layer on dry patches at night")
    how = "Last step at night: a very thin layer on dry areas only, to lock moisture in."
    return make_step("occlusive", "petrolatum balm", keys, how, optional=True)
