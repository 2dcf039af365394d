"""Routine engine: ingredient database, INCI parser, conflict checker and AM/PM plan builder (pure logic)."""

from app.routine_engine.builder import ENGINE_VERSION, build_plan, concern_metric, plan_slugs, today
from app.routine_engine.catalog import CatalogError, all_ingredients, in_group, load_catalog, rules
from app.routine_engine.catalog import get as get_ingredient
from app.routine_engine.catalog import resolve as resolve_ingredient
from app.routine_engine.catalog import search as search_ingredients
from app.routine_engine.conflicts import check, matches_sensitivity
from app.routine_engine.inci import parse_inci, split_inci
from app.routine_engine.models import (
    ConflictFinding,
    ConflictReport,
    ConflictRule,
    EngineProfile,
    InciEntry,
    InciParseResult,
    Ingredient,
    NightPlan,
    NightTreatment,
    ProductInput,
    ProfileCaution,
    ReasoningItem,
    RoutinePlan,
    RoutineStep,
    WeekPlan,
)

__all__ = [
    "ENGINE_VERSION",
    "CatalogError",
    "ConflictFinding",
    "ConflictReport",
    "ConflictRule",
    "EngineProfile",
    "InciEntry",
    "InciParseResult",
    "Ingredient",
    "NightPlan",
    "NightTreatment",
    "ProductInput",
    "ProfileCaution",
    "ReasoningItem",
    "RoutinePlan",
    "RoutineStep",
    "WeekPlan",
    "all_ingredients",
    "build_plan",
    "check",
    "concern_metric",
    "get_ingredient",
    "in_group",
    "load_catalog",
    "matches_sensitivity",
    "parse_inci",
    "plan_slugs",
    "resolve_ingredient",
    "rules",
    "search_ingredients",
    "split_inci",
    "today",
]
