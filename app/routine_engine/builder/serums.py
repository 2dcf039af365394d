"""Serums: treatment modules scored by need and placed, most needed first, where they fit safely."""

from dataclasses import dataclass

from app.core.vocabulary import SkinType
from app.routine_engine.builder.context import MILD, MODERATE, Ctx
from app.routine_engine.builder.selection import display_name, first_allowed, supporting_keys
from app.routine_engine.builder.steps import Routines, make_step
from app.routine_engine.builder.texts import texts

MAX_TREATMENTS_PER_ROUTINE = 2


@dataclass(frozen=True)
class Module:
    """A treatment idea: which scores call for it, its ingredient options and preferred routine."""

    key: str
    drivers: tuple[tuple[str, int], ...]
    slots: tuple[str, ...]


MODULES: tuple[Module, ...] = (
    Module("vitamin_c", (("pigmentation", MILD), ("evenness", MILD), ("wrinkles", MILD)), ("am",)),
    Module(
        "niacinamide",
        (
            ("oiliness", MILD),
            ("pores", MILD),
            ("redness", MILD),
            ("acne", MILD),
            ("evenness", MODERATE),
            ("pigmentation", MODERATE),
        ),
        ("am", "pm"),
    ),
    Module("azelaic", (("redness", MODERATE), ("pigmentation", MODERATE), ("acne", MODERATE)), ("pm", "am")),
    Module("tone", (("pigmentation", MODERATE), ("evenness", MODERATE)), ("pm", "am")),
    Module("hydration", (("hydration", MILD),), ("am", "pm")),
    Module("soothing", (("redness", MILD),), ("pm", "am")),
    Module("peptides", (("wrinkles", MILD), ("texture", MODERATE)), ("pm",)),
)


def module_options(ctx: Ctx, module: Module) -> tuple[list[str], list[str]]:
    """(primary options in preference order, supporting ingredients)."""
    if module.key == "vitamin_c":
        if ctx.gentle or ctx.profile.skin_type == SkinType.DRY:
            return ["tetrahexyldecyl_ascorbate", "ascorbyl_glucoside", "sodium_ascorbyl_phosphate"], []
        if ctx.need["acne"] >= MODERATE:
            return ["sodium_ascorbyl_phosphate", "ethyl_ascorbic_acid", "ascorbyl_glucoside"], []
        return [
            "l_ascorbic_acid",
            "ethyl_ascorbic_acid",
            "sodium_ascorbyl_phosphate",
            "ascorbyl_glucoside",
        ], [
            "tocopherol",
            "ferulic_acid",
        ]
    if module.key == "niacinamide":
        oily = ctx.need["oiliness"] >= MODERATE or ctx.need["acne"] >= MODERATE
        return ["niacinamide"], ["zinc_pca"] if oily else []
    if module.key == "azelaic":
        return ["azelaic_acid"], []
    if module.key == "tone":
        return ["tranexamic_acid", "alpha_arbutin", "licorice_root_extract"], []
    if module.key == "hydration":
        return ["hyaluronic_acid", "glycerin", "sodium_pca"], ["glycerin", "panthenol"]
    if module.key == "soothing":
        return ["centella_asiatica", "panthenol", "colloidal_oatmeal", "allantoin"], []
    return ["palmitoyl_pentapeptide_4", "copper_tripeptide_1", "acetyl_hexapeptide_8"], []


def module_score(ctx: Ctx, module: Module) -> tuple[int, list[str]]:
    """How much a module is needed, and the metrics that call for it."""
    drivers = [m for m, level in module.drivers if ctx.need[m] >= level]
    score = sum(ctx.need[m] for m in drivers)
    if module.key == "azelaic" and ctx.pregnant and drivers:
        score += 2  # the pregnancy-safe stand-in for retinoids and salicylic acid
    if module.key == "soothing" and ctx.profile.skin_type == SkinType.SENSITIVE:
        score += 1
        drivers = drivers or ["profile"]
    if module.key == "peptides" and ctx.minor:
        return 0, []
    if ctx.child and module.key not in ("hydration", "soothing"):
        return 0, []
    return score, drivers


def place_modules(ctx: Ctx, routines: Routines) -> None:
    """Add serums, most needed first, in the first routine with room where they fit safely."""
    scored = [(module, *module_score(ctx, module)) for module in MODULES]
    ranked = sorted((entry for entry in scored if entry[1] > 0), key=lambda entry: -entry[1])
    for module, _score, drivers in ranked:
        options, support = module_options(ctx, module)
        for slot in module.slots:
            steps = routines.am if slot == "am" else routines.pm
            # Fewer products for reactive skin; a morning benzoyl peroxide step takes a treatment place.
            cap = 1 if ctx.gentle else MAX_TREATMENTS_PER_ROUTINE
            if sum(s.category in ("serum", "treatment") for s in steps) >= cap:
                continue
            contexts = routines.contexts(slot)
            primary = first_allowed(ctx, options, contexts)
            if primary is None:
                continue
            keys = supporting_keys(ctx, [primary, *support], contexts)
            product, how = texts().serum.get(
                primary, (f"{display_name(primary)} serum", "A few drops before moisturiser.")
            )
            steps.append(make_step("serum", product, keys, how))
            when = "morning" if slot == "am" else "evening"
            for metric in drivers:
                ctx.decide(metric, f"{display_name(primary)} serum every {when}")
            break
