"""Typed data for the routine engine: catalog entries, conflict rules, checker reports and plans."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.vocabulary import SkinType

Pregnancy = Literal["safe", "caution", "avoid"]
Usage = Literal["leave_on", "rinse_off", "both"]
Severity = Literal["avoid", "caution", "info"]
Fix = Literal["split_am_pm", "alternate_nights", "wait", "pick_one"]
Evidence = Literal["clinical", "chemistry", "expert_opinion", "myth"]
StepCategory = Literal[
    "cleanser",
    "toner",
    "treatment",
    "serum",
    "spot_treatment",
    "night_treatment",
    "eye_cream",
    "moisturizer",
    "occlusive",
    "sunscreen",
]
NightFocus = Literal["retinoid", "retinoid_alternative", "exfoliant", "rest"]

SEVERITY_RANK: dict[str, int] = {"avoid": 3, "caution": 2, "info": 1}


class _Frozen(BaseModel):
    # Catalog objects are cached and shared: freezing stops one caller corrupting another's view.
    model_config = ConfigDict(frozen=True, extra="forbid")


class Ingredient(_Frozen):
    """One ingredient of the database."""

    slug: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    inci_name: str
    aliases: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()
    targets: tuple[str, ...] = Field(default=(), description="Metric names this ingredient helps.")
    strength: int = Field(
        ge=1, le=5, description="Potency as an active: 1 supporting, 5 prescription-strength."
    )
    irritation: int = Field(ge=0, le=5)
    comedogenic: int = Field(ge=0, le=5)
    pregnancy: Pregnancy
    pregnancy_note: str | None = None
    photosensitising: bool
    usage: Usage
    usage_notes: str
    typical_concentration: str | None = None
    sources: tuple[str, ...] = Field(min_length=1)


class IngredientDatabase(_Frozen):
    version: str
    ingredients: tuple[Ingredient, ...]


class ConflictRule(_Frozen):
    """A known interaction between two groups or slugs (`a` and `b` match either)."""

    id: str
    a: str
    b: str
    severity: Severity
    evidence: Evidence
    reason: str
    fix: Fix
    fix_text: str
    sources: tuple[str, ...] = Field(min_length=1)


class ConflictRuleSet(_Frozen):
    version: str
    rules: tuple[ConflictRule, ...]


class EngineProfile(BaseModel):
    """What the engine needs to know about the user."""

    skin_type: SkinType | None = None
    concerns: list[str] = Field(
        default_factory=list, description="Metric names or plain words (e.g. 'dark spots')."
    )
    sensitivities: list[str] = Field(
        default_factory=list, description="Ingredient names, slugs or groups (e.g. 'fragrance')."
    )
    pregnant_or_breastfeeding: bool = False
    age: int | None = Field(default=None, ge=0, le=130)


# ---- checker ---------------------------------------------------------------------------------------


class ProductInput(BaseModel):
    """A product the user uses: its ingredient names and/or its raw INCI list."""

    name: str
    ingredients: list[str] = Field(default_factory=list)
    inci: str | None = Field(default=None, description="Raw INCI text as printed on the pack.")
    when: Literal["am", "pm", "both"] = "both"


class ResolvedName(BaseModel):
    input: str
    normalised: str
    slug: str | None
    name: str | None = None
    product: str | None = None
    percent: float | None = None


class InvolvedIngredient(BaseModel):
    slug: str
    name: str
    product: str | None = None


class ConflictFinding(BaseModel):
    rule_id: str
    severity: Severity
    a: InvolvedIngredient
    b: InvolvedIngredient
    reason: str
    fix: Fix
    fix_text: str
    same_product: bool = False
    sources: list[str]


class ProfileCaution(BaseModel):
    kind: Literal["pregnancy", "sensitivity", "sensitive_skin"]
    severity: Severity
    slug: str
    name: str
    product: str | None = None
    reason: str


class UnknownName(BaseModel):
    name: str
    product: str | None = None


class ConflictReport(BaseModel):
    resolved: list[ResolvedName]
    conflicts: list[ConflictFinding]
    cautions: list[ProfileCaution]
    unknown: list[UnknownName]
    unmatched_sensitivities: list[str] = Field(
        default_factory=list, description="Sensitivities that matched nothing in the database."
    )
    worst_severity: Severity | None = None


# ---- INCI --------------------------------------------------------------------------------------------


class InciEntry(BaseModel):
    raw: str
    name: str = Field(description="Normalised (lowercase, markers stripped).")
    slug: str | None = None
    may_contain: bool = False
    percent: float | None = None


class InciParseResult(BaseModel):
    entries: list[InciEntry]
    unknown: list[str]
    notes: list[str] = Field(
        default_factory=list, description="Footnotes removed from the list, e.g. '*organic'."
    )


# ---- plan --------------------------------------------------------------------------------------------


class RoutineStep(BaseModel):
    step: int
    category: StepCategory
    product_type: str
    key_ingredients: list[str]
    instructions: str
    frequency: str
    uses_per_week: list[int] = Field(description="Uses per week for weeks 1-4; 7 = daily.")
    spf: int | None = None
    optional: bool = False


class NightTreatment(BaseModel):
    """The active used on a scheduled night; slotted in place of the PM `night_treatment` step."""

    focus: NightFocus
    step: RoutineStep


class NightPlan(BaseModel):
    weekday: int = Field(ge=0, le=6, description="0 = Monday.")
    day: str
    focus: NightFocus
    actives: list[str]


class WeekPlan(BaseModel):
    week: int
    nights: list[NightPlan]
    summary: str


class ReasoningItem(BaseModel):
    metric: str
    score: float | None
    decision: str


class RoutinePlan(BaseModel):
    engine_version: str
    catalog_version: str
    skin_type: SkinType | None
    primary_concerns: list[str]
    am: list[RoutineStep]
    pm: list[RoutineStep]
    night_treatments: list[NightTreatment]
    weekly_schedule: list[WeekPlan]
    warnings: list[str]
    reasoning: list[ReasoningItem]
