"""Pure, deterministic AM/PM plan builder: an `EngineProfile` and scan scores in, a `RoutinePlan` out.

Safety rules are enforced by construction (see docs/ROUTINE_ENGINE.md):
- every candidate passes `_allowed` (catalog entry exists, not prescription-only, no sensitivity
  match, pregnancy-safe, not comedogenic on acne-prone skin);
- every addition is checked against the conflict rules for each context it will share a routine
  with: the AM steps, the nightly PM steps, and the nightly PM steps plus each night's active;
- the retinoid slot and the exfoliant slot never share a night, and both ramp up over four weeks.
Nothing iterates over a set, so the same input gives byte-identical output in any process.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.core.vocabulary import METRICS, SkinType
from app.routine_engine import catalog
from app.routine_engine.conflicts import (
    blocking_pairs,
    matching_sensitivities,
    sensitivity_slugs,
    unmatched_sensitivities,
)
from app.routine_engine.models import (
    EngineProfile,
    NightFocus,
    NightPlan,
    NightTreatment,
    ReasoningItem,
    RoutinePlan,
    RoutineStep,
    StepCategory,
    WeekPlan,
)
from app.routine_engine.names import name_key, unique

ENGINE_VERSION = "1.0"
WEEKS = 4
DAILY = 7
MAX_TREATMENTS_PER_ROUTINE = 2
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
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

HIGH, MODERATE, MILD, NONE = 3, 2, 1, 0
_LEVEL_WORDS = {HIGH: "high need", MODERATE: "moderate need", MILD: "mild need", NONE: "healthy range"}

CONCERN_SYNONYMS: dict[str, str] = {
    "breakouts": "acne",
    "pimples": "acne",
    "spots": "acne",
    "whiteheads": "acne",
    "blackheads": "pores",
    "large pores": "pores",
    "enlarged pores": "pores",
    "rosacea": "redness",
    "flushing": "redness",
    "oil": "oiliness",
    "oily": "oiliness",
    "shine": "oiliness",
    "greasy": "oiliness",
    "dryness": "hydration",
    "dry": "hydration",
    "dehydration": "hydration",
    "dehydrated": "hydration",
    "fine lines": "wrinkles",
    "lines": "wrinkles",
    "aging": "wrinkles",
    "ageing": "wrinkles",
    "anti aging": "wrinkles",
    "firmness": "wrinkles",
    "dark spots": "pigmentation",
    "hyperpigmentation": "pigmentation",
    "melasma": "pigmentation",
    "sun spots": "pigmentation",
    "acne marks": "pigmentation",
    "dark circles": "dark_circles",
    "under eye": "dark_circles",
    "puffiness": "dark_circles",
    "eye bags": "dark_circles",
    "roughness": "texture",
    "rough texture": "texture",
    "bumpy skin": "texture",
    "acne scars": "texture",
    "uneven tone": "evenness",
    "uneven skin tone": "evenness",
    "dullness": "evenness",
    "dull skin": "evenness",
}


# ---- context --------------------------------------------------------------------------------------


@dataclass
class _Ctx:
    """Everything derived from the input once; decisions are appended as the plan is built."""

    profile: EngineProfile
    scores: dict[str, float]
    need: dict[str, int]
    concern_metrics: list[str]
    gentle: bool
    pregnant: bool
    minor: bool
    child: bool
    acne_prone: bool
    decisions: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def decide(self, metric: str, decision: str) -> None:
        self.decisions.append((metric, decision))


def need_level(score: float | None) -> int:
    """Score (higher = healthier) to need level: <40 high, <60 moderate, <75 mild, else none."""
    if score is None:
        return NONE
    if score < 40:
        return HIGH
    if score < 60:
        return MODERATE
    if score < 75:
        return MILD
    return NONE


def _validate_scores(scores: Mapping[str, float]) -> dict[str, float]:
    """Keep the known metrics; reject values outside 0-100 rather than guess what they meant."""
    valid: dict[str, float] = {}
    for metric in METRICS:
        if metric not in scores:
            continue
        value = float(scores[metric])
        if not math.isfinite(value) or not 0 <= value <= 100:
            raise ValueError(f"score for {metric!r} must be within 0-100, got {scores[metric]!r}")
        valid[metric] = value
    return valid


def concern_metric(concern: str) -> str | None:
    """Map a user concern ('dark spots', 'acne', 'dark_circles') to a metric name."""
    key = name_key(concern)
    by_key = {name_key(m): m for m in METRICS}
    return by_key.get(key) or CONCERN_SYNONYMS.get(key)


def _context(profile: EngineProfile, scores: dict[str, float]) -> _Ctx:
    concern_metrics = unique(m for c in profile.concerns if (m := concern_metric(c)))
    need = {m: need_level(scores.get(m)) for m in METRICS}
    for metric in concern_metrics:
        need[metric] = max(need[metric], MODERATE)  # a concern the user chose counts as at least moderate
    reported = any(sensitivity_slugs(s) for s in profile.sensitivities)
    gentle = profile.skin_type == SkinType.SENSITIVE or reported or need["redness"] == HIGH
    age = profile.age
    return _Ctx(
        profile=profile,
        scores=scores,
        need=need,
        concern_metrics=concern_metrics,
        gentle=gentle,
        pregnant=profile.pregnant_or_breastfeeding,
        minor=age is not None and age < 18,
        child=age is not None and age < 12,
        acne_prone=need["acne"] >= MODERATE or profile.skin_type == SkinType.OILY,
    )


def _allowed(ctx: _Ctx, slug: str) -> bool:
    """The safety filter every ingredient the builder names must pass."""
    ingredient = catalog.get(slug=slug)
    if ingredient is None or "prescription" in ingredient.groups:
        return False
    if matching_sensitivities(ingredient, ctx.profile.sensitivities):
        return False
    # In pregnancy only 'safe' entries: no retinoids, no hydroquinone, no salicylic acid (even low-dose).
    if ctx.pregnant and (ingredient.pregnancy != "safe" or "retinoid" in ingredient.groups):
        return False
    return not (ctx.acne_prone and ingredient.comedogenic >= 3)


def _compatible(slugs: Sequence[str], contexts: Sequence[Sequence[str]]) -> bool:
    """No 'avoid'/'caution' rule between the new slugs and any context they will share a routine with."""
    return all(not blocking_pairs(slugs=[*context, *slugs]) for context in contexts)


def _first(ctx: _Ctx, options: Sequence[str], contexts: Sequence[Sequence[str]] = ((),)) -> str | None:
    for slug in options:
        if _allowed(ctx, slug) and _compatible([slug], contexts):
            return slug
    return None


def _keys(ctx: _Ctx, options: Sequence[str], contexts: Sequence[Sequence[str]] = ((),)) -> list[str]:
    """Supporting key ingredients: keep each allowed, compatible one, in order."""
    chosen: list[str] = []
    for slug in unique(options):
        if _allowed(ctx, slug) and _compatible([*chosen, slug], contexts):
            chosen.append(slug)
    return chosen


def _name(slug: str) -> str:
    ingredient = catalog.get(slug=slug)
    return ingredient.name if ingredient else slug


def _lower_first(text: str) -> str:
    """'Adapalene ...' -> 'adapalene ...' mid-sentence, but keep acronyms like 'PHA'."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _top_driver(ctx: _Ctx, metrics: Sequence[str]) -> str:
    return max(metrics, key=lambda m: (ctx.need[m], -METRICS.index(m)))


# ---- steps ----------------------------------------------------------------------------------------


def _frequency(uses: Sequence[int], unit: str) -> str:
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


def _step(
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
    return RoutineStep(
        step=0,
        category=category,
        product_type=product_type,
        key_ingredients=keys,
        instructions=instructions,
        frequency=_frequency(uses, unit),
        uses_per_week=list(uses),
        spf=spf,
        optional=optional,
    )


def _numbered(steps: list[RoutineStep]) -> list[RoutineStep]:
    return [s.model_copy(update={"step": i}) for i, s in enumerate(steps, start=1)]


# ---- night actives --------------------------------------------------------------------------------

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

_RENEWAL_TEXT = {
    "adapalene": (
        "adapalene 0.1% gel",
        "A pea-sized amount for the whole face on dry skin after cleansing; keep away from eyes, nostrils "
        "and mouth corners. Dryness and purging in the first weeks are expected.",
    ),
    "retinal": (
        "retinal (retinaldehyde) 0.05% serum",
        "A pea-sized amount on dry skin after cleansing, then moisturiser.",
    ),
    "retinol": (
        "retinol 0.25-0.3% serum",
        "A pea-sized amount on dry skin after cleansing, then moisturiser.",
    ),
    "hydroxypinacolone_retinoate": (
        "hydroxypinacolone retinoate (granactive retinoid) 0.2% serum",
        "A few drops on dry skin after cleansing, then moisturiser.",
    ),
    "bakuchiol": (
        "bakuchiol 0.5-1% serum",
        "A few drops after cleansing, then moisturiser. Gentle enough for more nights later on.",
    ),
}
_GENTLE_RETINOL = (
    "low-strength retinol 0.1-0.2% cream",
    "A pea-sized amount over a thin layer of moisturiser (the 'sandwich' method) to cushion irritation.",
)
_EXFOLIANT_TEXT = {
    "salicylic_acid": (
        "salicylic acid 2% leave-on liquid (BHA)",
        "Swipe or pat over dry skin, focusing on the T-zone.",
    ),
    "glycolic_acid": (
        "glycolic acid 5-8% toner or serum (AHA)",
        "Thin layer on dry skin; expect mild tingling.",
    ),
    "lactic_acid": ("lactic acid 5-10% serum (AHA)", "Thin layer on dry skin; also hydrates."),
    "mandelic_acid": ("mandelic acid 5-10% serum (gentle AHA)", "Thin layer on dry skin."),
    "gluconolactone": ("PHA (gluconolactone) toner or serum", "Pat onto dry skin; the gentlest acid."),
    "lactobionic_acid": ("PHA (lactobionic acid) serum", "Pat onto dry skin; the gentlest acid."),
}


def _choose_renewal(ctx: _Ctx) -> str | None:
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
    slug = _first(ctx, options)
    if slug:
        label = "retinoid nights" if _focus_of(slug) == "retinoid" else "nights in place of a retinoid"
        for metric in drivers:
            ctx.decide(metric, f"{_name(slug)} on {label} (ramped up over 4 weeks)")
    return slug


def _choose_exfoliant(ctx: _Ctx) -> str | None:
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
    slug = _first(ctx, [*options, "lactobionic_acid"])
    if slug:
        for metric in drivers:
            ctx.decide(metric, f"{_name(slug)} on exfoliant nights (never on a retinoid night)")
    return slug


def _ramps(ctx: _Ctx, renewal: str | None, exfoliant: str | None) -> tuple[list[int], list[int]]:
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


def _renewal_step(ctx: _Ctx, slug: str, uses: list[int]) -> RoutineStep:
    product, how = _RENEWAL_TEXT.get(slug, (f"{_name(slug)} product", "Apply as directed."))
    if slug == "retinol" and ctx.gentle:
        product, how = _GENTLE_RETINOL
    how += " If skin stings or peels, drop back to the previous week's number of nights."
    return _step("night_treatment", product, [slug], how, uses=uses, unit="nights")


def _exfoliant_step(slug: str, uses: list[int]) -> RoutineStep:
    product, how = _EXFOLIANT_TEXT.get(slug, (f"{_name(slug)} exfoliant", "Apply as directed."))
    how += " No retinoid or other acid on the same night."
    return _step("night_treatment", product, [slug], how, uses=uses, unit="nights")


def _exfoliant_days(retinoid_days: tuple[int, ...], count: int) -> tuple[int, ...]:
    free = [d for d in range(7) if d not in retinoid_days]

    def preference(day: int) -> tuple[bool, bool, int]:
        after = (day - 1) % 7 in retinoid_days
        before = (day + 1) % 7 in retinoid_days
        return after, before, _EXFOLIANT_DAY_PREFERENCE.index(day)

    return tuple(sorted(sorted(free, key=preference)[:count]))


def _focus_of(slug: str) -> NightFocus:
    ingredient = catalog.get(slug=slug)
    return "retinoid" if ingredient and "retinoid" in ingredient.groups else "retinoid_alternative"


def _schedule(
    renewal: str | None, exfoliant: str | None, renewal_uses: list[int], exfoliant_uses: list[int]
) -> list[WeekPlan]:
    plans: list[WeekPlan] = []
    for week in range(1, WEEKS + 1):
        renewal_days = SPREAD[renewal_uses[week - 1]] if renewal else ()
        exfoliant_days = _exfoliant_days(renewal_days, exfoliant_uses[week - 1]) if exfoliant else ()
        nights: list[NightPlan] = []
        for day in range(7):
            if renewal and day in renewal_days:
                nights.append(
                    NightPlan(weekday=day, day=DAY_NAMES[day], focus=_focus_of(renewal), actives=[renewal])
                )
            elif exfoliant and day in exfoliant_days:
                nights.append(
                    NightPlan(weekday=day, day=DAY_NAMES[day], focus="exfoliant", actives=[exfoliant])
                )
            else:
                nights.append(NightPlan(weekday=day, day=DAY_NAMES[day], focus="rest", actives=[]))
        plans.append(WeekPlan(week=week, nights=nights, summary=_week_summary(week, nights)))
    return plans


def _week_summary(week: int, nights: list[NightPlan]) -> str:
    parts: list[str] = []
    for slug in unique(s for n in nights for s in n.actives):
        days = "/".join(n.day for n in nights if slug in n.actives)
        parts.append(f"{_name(slug)} {days}")
    rest = sum(n.focus == "rest" for n in nights)
    parts.append(f"{rest} rest night{'s' if rest != 1 else ''}")
    return f"Week {week}: " + "; ".join(parts)


# ---- serums ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Module:
    """A treatment idea: which scores call for it, its ingredient options and preferred routine."""

    key: str
    drivers: tuple[tuple[str, int], ...]
    slots: tuple[str, ...]


_MODULES: tuple[_Module, ...] = (
    _Module("vitamin_c", (("pigmentation", MILD), ("evenness", MILD), ("wrinkles", MILD)), ("am",)),
    _Module(
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
    _Module("azelaic", (("redness", MODERATE), ("pigmentation", MODERATE), ("acne", MODERATE)), ("pm", "am")),
    _Module("tone", (("pigmentation", MODERATE), ("evenness", MODERATE)), ("pm", "am")),
    _Module("hydration", (("hydration", MILD),), ("am", "pm")),
    _Module("soothing", (("redness", MILD),), ("pm", "am")),
    _Module("peptides", (("wrinkles", MILD), ("texture", MODERATE)), ("pm",)),
)

_SERUM_TEXT = {
    "l_ascorbic_acid": (
        "vitamin C serum (10-15% L-ascorbic acid with vitamin E and ferulic acid)",
        "4-5 drops on dry skin before moisturiser; keep it closed and cool, replace it if it turns dark orange.",
    ),
    "ethyl_ascorbic_acid": (
        "vitamin C serum (ethyl ascorbic acid)",
        "A few drops on dry skin before moisturiser.",
    ),
    "sodium_ascorbyl_phosphate": (
        "vitamin C derivative serum (sodium ascorbyl phosphate 3-5%)",
        "A few drops before moisturiser; stable and gentle.",
    ),
    "ascorbyl_glucoside": (
        "vitamin C derivative serum (ascorbyl glucoside)",
        "A few drops before moisturiser.",
    ),
    "tetrahexyldecyl_ascorbate": (
        "oil-soluble vitamin C serum (tetrahexyldecyl ascorbate)",
        "A few drops before moisturiser; suits dry and sensitive skin.",
    ),
    "magnesium_ascorbyl_phosphate": (
        "vitamin C derivative serum (magnesium ascorbyl phosphate)",
        "A few drops before moisturiser.",
    ),
    "niacinamide": ("niacinamide 4-5% serum", "A few drops before moisturiser."),
    "azelaic_acid": (
        "azelaic acid 10% gel or cream",
        "Thin layer on dry skin; mild tingling in the first two weeks is common.",
    ),
    "tranexamic_acid": (
        "tranexamic acid 2-5% serum",
        "A few drops on dark spots and surrounding skin; give it 8-12 weeks.",
    ),
    "alpha_arbutin": ("alpha arbutin 2% serum", "A few drops before moisturiser; give it 8-12 weeks."),
    "licorice_root_extract": ("licorice root brightening serum", "A few drops before moisturiser."),
    "hyaluronic_acid": (
        "hydrating serum (hyaluronic acid with glycerin)",
        "Apply to damp skin and seal with moisturiser straight away.",
    ),
    "glycerin": ("hydrating glycerin serum or essence", "Apply to damp skin and seal with moisturiser."),
    "sodium_pca": ("hydrating essence (sodium PCA)", "Apply to damp skin and seal with moisturiser."),
    "centella_asiatica": ("soothing centella (cica) serum", "A few drops before moisturiser."),
    "panthenol": ("soothing panthenol serum", "A few drops before moisturiser."),
    "colloidal_oatmeal": ("colloidal oatmeal soothing cream", "Thin layer on irritated areas."),
    "allantoin": ("soothing allantoin serum", "A few drops before moisturiser."),
    "palmitoyl_pentapeptide_4": (
        "peptide serum (palmitoyl pentapeptide-4)",
        "A few drops before moisturiser.",
    ),
    "copper_tripeptide_1": (
        "copper peptide (GHK-Cu) serum",
        "A few drops before moisturiser; not with acids.",
    ),
    "acetyl_hexapeptide_8": ("peptide serum (acetyl hexapeptide-8)", "A few drops on expression lines."),
}


def _module_options(ctx: _Ctx, module: _Module) -> tuple[list[str], list[str]]:
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


def _module_score(ctx: _Ctx, module: _Module) -> tuple[int, list[str]]:
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


@dataclass
class _Routines:
    """Slugs already placed: the AM routine, the nightly PM steps and each night's active."""

    am: list[RoutineStep] = field(default_factory=list)
    pm: list[RoutineStep] = field(default_factory=list)
    nights: list[list[str]] = field(default_factory=list)

    def am_slugs(self) -> list[str]:
        return [s for step in self.am for s in step.key_ingredients]

    def pm_slugs(self) -> list[str]:
        return [s for step in self.pm for s in step.key_ingredients]

    def contexts(self, slot: str) -> list[list[str]]:
        if slot == "am":
            return [self.am_slugs()]
        base = self.pm_slugs()
        return [base, *([*base, *night] for night in self.nights)]


def _place_modules(ctx: _Ctx, routines: _Routines) -> None:
    scored = [(module, *_module_score(ctx, module)) for module in _MODULES]
    ranked = sorted((entry for entry in scored if entry[1] > 0), key=lambda entry: -entry[1])
    for module, _score, drivers in ranked:
        options, support = _module_options(ctx, module)
        for slot in module.slots:
            steps = routines.am if slot == "am" else routines.pm
            # Fewer products for reactive skin; a morning benzoyl peroxide step takes a treatment place.
            cap = 1 if ctx.gentle else MAX_TREATMENTS_PER_ROUTINE
            if sum(s.category in ("serum", "treatment") for s in steps) >= cap:
                continue
            contexts = routines.contexts(slot)
            primary = _first(ctx, options, contexts)
            if primary is None:
                continue
            keys = _keys(ctx, [primary, *support], contexts)
            product, how = _SERUM_TEXT.get(
                primary, (f"{_name(primary)} serum", "A few drops before moisturiser.")
            )
            steps.append(_step("serum", product, keys, how))
            when = "morning" if slot == "am" else "evening"
            for metric in drivers:
                ctx.decide(metric, f"{_name(primary)} serum every {when}")
            break


# ---- fixed steps ----------------------------------------------------------------------------------


def _cleanser(ctx: _Ctx, slot: str) -> RoutineStep:
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
    return _step("cleanser", product, _keys(ctx, options), how)


def _moisturiser(ctx: _Ctx, routines: _Routines, slot: str) -> RoutineStep:
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
    return _step("moisturizer", product, _keys(ctx, options, routines.contexts(slot)), how)


def _sunscreen(ctx: _Ctx, routines: _Routines, photosensitising: bool) -> RoutineStep:
    spf = 50 if photosensitising or ctx.need["pigmentation"] >= MILD else 30
    mineral = ctx.gentle or ctx.pregnant or ctx.child or ctx.need["redness"] >= MODERATE
    minerals = ["zinc_oxide", "titanium_dioxide"]
    organics = ["avobenzone", "octocrylene", "bemotrizinol", "dhhb", "ethylhexyl_triazone", "octisalate"]
    order = [*minerals, *organics] if mineral else [*organics, *minerals]
    filters = _keys(ctx, order, routines.contexts("am"))[:2]
    tinted = ctx.need["pigmentation"] >= MODERATE and _allowed(ctx, "iron_oxides")
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
        ctx.warnings.append(
            "Your sensitivities rule out every UV filter in our database; a sunscreen is still essential, so "
            "ask a dermatologist which filters you can use."
        )
    return _step("sunscreen", product, keys, how, spf=spf)


def _benzoyl_peroxide(ctx: _Ctx, routines: _Routines) -> RoutineStep | None:
    """Benzoyl peroxide goes in the morning, where it cannot meet the night retinoid."""
    if ctx.child or ctx.need["acne"] < MODERATE or (ctx.gentle and ctx.need["acne"] < HIGH):
        return None
    if _first(ctx, ["benzoyl_peroxide"], routines.contexts("am")) is None:
        return None
    uses = [4, 4, DAILY, DAILY]
    if ctx.gentle:
        ctx.decide("acne", "benzoyl peroxide 2.5% on spots only, in the morning")
        how = "Dab onto active spots only after serums; let it dry before moisturiser. Bleaches fabric."
        return _step("spot_treatment", "benzoyl peroxide 2.5% spot gel", ["benzoyl_peroxide"], how, uses=uses)
    ctx.decide("acne", "benzoyl peroxide 2.5% gel on acne-prone areas in the morning")
    how = (
        "Thin layer over acne-prone areas (not just spots) after serums; let it dry before moisturiser. "
        "Bleaches towels and fabric."
    )
    return _step(
        "treatment", "benzoyl peroxide 2.5% gel", ["benzoyl_peroxide"], how, uses=uses, unit="mornings"
    )


def _spot_treatment(ctx: _Ctx, routines: _Routines) -> RoutineStep | None:
    if ctx.child or ctx.need["acne"] < MODERATE:
        return None
    slug = _first(ctx, ["sulfur", "benzoyl_peroxide"], routines.contexts("am"))
    if slug is None:
        return None
    ctx.decide("acne", f"{_name(slug)} spot treatment in the morning")
    uses = [4, 4, DAILY, DAILY] if slug == "benzoyl_peroxide" else [DAILY] * WEEKS
    how = "Dab onto active spots only; let it dry before moisturiser."
    return _step(
        "spot_treatment", f"{_name(slug).lower()} spot treatment", [slug], how, uses=uses, optional=True
    )


def _eye_cream(ctx: _Ctx, routines: _Routines, slot: str) -> RoutineStep | None:
    if slot == "am":
        if ctx.child or ctx.need["dark_circles"] < MODERATE:
            return None
        keys = _keys(ctx, ["caffeine"], routines.contexts("am"))
        if not keys:
            return None
        ctx.decide("dark_circles", "caffeine eye gel in the morning (de-puffing; modest effect)")
        how = "Tap a rice-grain amount along the orbital bone with the ring finger."
        return _step("eye_cream", "caffeine eye gel", keys, how, optional=True)
    if ctx.minor or max(ctx.need["dark_circles"], ctx.need["wrinkles"]) < MODERATE:
        return None
    keys = _keys(ctx, ["palmitoyl_pentapeptide_4", "ceramides"], routines.contexts("pm"))
    if not keys:
        return None
    ctx.decide(_top_driver(ctx, ["dark_circles", "wrinkles"]), "peptide eye cream at night")
    how = "Tap a rice-grain amount along the orbital bone; keep retinoids and acids away from the eye area."
    return _step("eye_cream", "peptide eye cream", keys, how, optional=True)


def _occlusive(ctx: _Ctx, routines: _Routines) -> RoutineStep | None:
    if ctx.need["hydration"] < HIGH or ctx.acne_prone:
        return None
    keys = _keys(ctx, ["petrolatum"], routines.contexts("pm"))
    if not keys:
        return None
    ctx.decide("hydration", "thin petrolatum layer on dry patches at night")
    how = "Last step at night: a very thin layer on dry areas only, to lock moisture in."
    return _step("occlusive", "petrolatum balm", keys, how, optional=True)


# ---- assembly -------------------------------------------------------------------------------------


def _primary_concerns(ctx: _Ctx) -> list[str]:
    scored = sorted(
        (m for m in METRICS if m in ctx.scores and need_level(ctx.scores[m]) >= MILD),
        key=lambda m: (ctx.scores[m], METRICS.index(m)),
    )
    return unique([*scored[:3], *ctx.concern_metrics])


def _reasoning(ctx: _Ctx) -> list[ReasoningItem]:
    items: list[ReasoningItem] = []
    metrics = sorted(METRICS, key=lambda m: (-ctx.need[m], METRICS.index(m)))
    for metric in metrics:
        score = ctx.scores.get(metric)
        decisions = unique(d for m, d in ctx.decisions if m == metric)
        level = _LEVEL_WORDS[ctx.need[metric]]
        if not decisions and score is None and metric not in ctx.concern_metrics:
            continue
        if not decisions:
            decisions = [
                "no targeted treatment needed" if ctx.need[metric] == NONE else "covered by the basics"
            ]
        for decision in decisions:
            items.append(
                ReasoningItem(metric=metric, score=score, decision=f"{level}: {_lower_first(decision)}")
            )
    items += [
        ReasoningItem(metric="profile", score=None, decision=d) for m, d in ctx.decisions if m == "profile"
    ]
    return items


def _profile_decisions(ctx: _Ctx) -> None:
    if ctx.pregnant:
        ctx.decide("profile", "pregnant or breastfeeding: no retinoids, hydroquinone or salicylic acid")
    if ctx.gentle:
        ctx.decide("profile", "sensitive skin or reported sensitivities: gentler forms and fewer nights")
    if ctx.profile.sensitivities:
        ctx.decide("profile", "excluded everything matching: " + ", ".join(ctx.profile.sensitivities))


def _warnings(ctx: _Ctx, plan_slugs: list[str], unknown_concerns: list[str]) -> list[str]:
    ingredients = [i for s in plan_slugs if (i := catalog.get(slug=s))]
    warnings = ["Patch test each new product on a small area (e.g. behind the ear) for a few days first."]
    if any("retinoid" in i.groups for i in ingredients):
        warnings.append(
            "Retinoids cause dryness and flaking in the first weeks; if it stings, go back to the previous "
            "week's number of nights instead of stopping."
        )
    if any(i.photosensitising for i in ingredients):
        warnings.append(
            "Your night actives make skin more sun-sensitive: sunscreen every day, reapplied outdoors."
        )
    if "benzoyl_peroxide" in plan_slugs:
        warnings.append("Benzoyl peroxide bleaches towels, pillowcases and clothing.")
    if ctx.pregnant:
        warnings.append(
            "Pregnancy or breastfeeding: retinoids, hydroquinone and salicylic acid are left out; check every new "
            "product with your doctor or midwife."
        )
    if ctx.need["acne"] == HIGH and "acne" in ctx.scores:
        warnings.append(
            "Your acne score is in the severe range: see a dermatologist, as prescription treatment may be needed."
        )
    if ctx.child:
        warnings.append("Under 12: only gentle basics are suggested; see a doctor for any skin condition.")
    elif ctx.minor:
        warnings.append("Under 18: anti-ageing actives are left out; a retinoid is used only for acne.")
    for sensitivity in unmatched_sensitivities(ctx.profile.sensitivities):
        warnings.append(
            f"'{sensitivity}' is not in our ingredient database; check product labels for it yourself."
        )
    for concern in unknown_concerns:
        warnings.append(f"Concern '{concern}' was not recognised and did not change the plan.")
    return [*warnings, *ctx.warnings]


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


def _ordered(steps: list[RoutineStep], slot: str) -> list[RoutineStep]:
    """cleanse -> tone -> treat -> eye -> moisturise -> protect; stable within a category."""
    return _numbered(sorted(steps, key=lambda s: _ORDER[slot].index(s.category)))


def _night_slot(night_treatments: list[NightTreatment], uses: list[int]) -> RoutineStep:
    names = "; ".join(f"{t.focus.replace('_', ' ')} nights: {t.step.product_type}" for t in night_treatments)
    how = f"Use tonight's active from the weekly schedule ({names}); skip on rest nights."
    return _step(
        "night_treatment", "tonight's active (see weekly schedule)", [], how, uses=uses, unit="nights"
    )


def _add(steps: list[RoutineStep], step: RoutineStep | None) -> None:
    if step is not None:
        steps.append(step)


def build_plan(*, profile: EngineProfile, scores: Mapping[str, float]) -> RoutinePlan:
    """Build a 4-week AM/PM plan from a profile and 0-100 scores (higher = healthier)."""
    ctx = _context(profile, _validate_scores(scores))
    unknown_concerns = [c for c in profile.concerns if concern_metric(c) is None]
    _profile_decisions(ctx)

    renewal = _choose_renewal(ctx)
    exfoliant = _choose_exfoliant(ctx)
    renewal_uses, exfoliant_uses = _ramps(ctx, renewal, exfoliant)
    night_treatments: list[NightTreatment] = []
    if renewal:
        night_treatments.append(
            NightTreatment(focus=_focus_of(renewal), step=_renewal_step(ctx, renewal, renewal_uses))
        )
    if exfoliant:
        night_treatments.append(
            NightTreatment(focus="exfoliant", step=_exfoliant_step(exfoliant, exfoliant_uses))
        )

    # Steps are added most-constrained first; each addition is checked against what is already placed.
    routines = _Routines(nights=[[slug] for slug in (renewal, exfoliant) if slug])
    routines.am.append(_cleanser(ctx, "am"))
    routines.pm.append(_cleanser(ctx, "pm"))
    if night_treatments:
        uses = [r + e for r, e in zip(renewal_uses, exfoliant_uses, strict=True)]
        routines.pm.append(_night_slot(night_treatments, uses))
    # Benzoyl peroxide goes first so that vitamin C then picks a form that tolerates it.
    bp = _benzoyl_peroxide(ctx, routines)
    _add(routines.am, bp)
    _place_modules(ctx, routines)
    if bp is None:
        _add(routines.am, _spot_treatment(ctx, routines))
    _add(routines.am, _eye_cream(ctx, routines, "am"))
    _add(routines.pm, _eye_cream(ctx, routines, "pm"))
    routines.am.append(_moisturiser(ctx, routines, "am"))
    routines.pm.append(_moisturiser(ctx, routines, "pm"))
    _add(routines.pm, _occlusive(ctx, routines))
    named = [*routines.am_slugs(), *routines.pm_slugs(), *(s for night in routines.nights for s in night)]
    photosensitising = any((i := catalog.get(slug=s)) is not None and i.photosensitising for s in named)
    routines.am.append(_sunscreen(ctx, routines, photosensitising))

    plan = RoutinePlan(
        engine_version=ENGINE_VERSION,
        catalog_version=catalog.load_catalog().version,
        skin_type=profile.skin_type,
        primary_concerns=_primary_concerns(ctx),
        am=_ordered(routines.am, "am"),
        pm=_ordered(routines.pm, "pm"),
        night_treatments=[],
        weekly_schedule=_schedule(renewal, exfoliant, renewal_uses, exfoliant_uses),
        warnings=[],
        reasoning=_reasoning(ctx),
    )
    plan.night_treatments = [
        t.model_copy(update={"step": _night_step_number(t.step, plan.pm)}) for t in night_treatments
    ]
    plan.warnings = _warnings(ctx, plan_slugs(plan), unknown_concerns)
    return plan


def _night_step_number(step: RoutineStep, pm_steps: list[RoutineStep]) -> RoutineStep:
    """A night active takes the number of the PM 'night_treatment' placeholder it replaces."""
    slot = next(s.step for s in pm_steps if s.category == "night_treatment")
    return step.model_copy(update={"step": slot})


def _used_on(step: RoutineStep, *, week_index: int, weekday: int) -> bool:
    return weekday in SPREAD[min(step.uses_per_week[week_index], DAILY)]


def today(plan: RoutinePlan, *, week: int, weekday: int) -> dict[str, Any]:
    """That day's AM and PM steps (weekday 0 = Monday); weeks after 4 repeat week 4 (maintenance)."""
    if week < 1:
        raise ValueError("week starts at 1")
    if not 0 <= weekday <= 6:
        raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
    index = min(week, WEEKS) - 1
    night = plan.weekly_schedule[index].nights[weekday]
    am = [s for s in plan.am if _used_on(s, week_index=index, weekday=weekday)]
    pm: list[RoutineStep] = []
    for step in plan.pm:
        if step.category == "night_treatment":
            pm += [t.step for t in plan.night_treatments if t.focus == night.focus]
        elif _used_on(step, week_index=index, weekday=weekday):
            pm.append(step)
    return {
        "week": week,
        "weekday": weekday,
        "day": DAY_NAMES[weekday],
        "night_focus": night.focus,
        "night_actives": list(night.actives),
        "am": [s.model_dump(mode="json") for s in _numbered(am)],
        "pm": [s.model_dump(mode="json") for s in _numbered(pm)],
    }


def plan_slugs(plan: RoutinePlan) -> list[str]:
    """Every ingredient slug the plan names (steps, night actives and schedule), in order of appearance."""
    steps = [*plan.am, *plan.pm, *(t.step for t in plan.night_treatments)]
    scheduled = (s for w in plan.weekly_schedule for n in w.nights for s in n.actives)
    return unique([*(s for step in steps for s in step.key_ingredients), *scheduled])
