"""What the plan says about itself: primary concerns, the reasoning per metric, and the warnings."""

from app.core.vocabulary import METRICS
from app.routine_engine import catalog
from app.routine_engine.builder.context import HIGH, MILD, NONE, Ctx, level_words, need_level
from app.routine_engine.builder.selection import lower_first
from app.routine_engine.builder.texts import texts
from app.routine_engine.conflicts import unmatched_sensitivities
from app.routine_engine.models import ReasoningItem
from app.routine_engine.names import unique


def primary_concerns(ctx: Ctx) -> list[str]:
    """Up to three lowest scores needing care, then the concerns the user chose."""
    scored = sorted(
        (m for m in METRICS if m in ctx.scores and need_level(ctx.scores[m]) >= MILD),
        key=lambda m: (ctx.scores[m], METRICS.index(m)),
    )
    return unique([*scored[:3], *ctx.concern_metrics])


def reasoning(ctx: Ctx) -> list[ReasoningItem]:
    """One line per decision, metrics by need (highest first), then the profile's decisions."""
    decided = texts().decisions
    items: list[ReasoningItem] = []
    metrics = sorted(METRICS, key=lambda m: (-ctx.need[m], METRICS.index(m)))
    for metric in metrics:
        score = ctx.scores.get(metric)
        decisions = unique(d for m, d in ctx.decisions if m == metric)
        level = level_words(ctx.need[metric])
        if not decisions and score is None and metric not in ctx.concern_metrics:
            continue
        if not decisions:
            decisions = [decided["no_treatment"] if ctx.need[metric] == NONE else decided["basics"]]
        for decision in decisions:
            items.append(
                ReasoningItem(metric=metric, score=score, decision=f"{level}: {lower_first(decision)}")
            )
    items += [
        ReasoningItem(metric="profile", score=None, decision=d) for m, d in ctx.decisions if m == "profile"
    ]
    return items


def profile_decisions(ctx: Ctx) -> None:
    """Record what the profile itself changes (pregnancy, reactive skin, exclusions)."""
    decided = texts().decisions
    if ctx.pregnant:
        ctx.decide("profile", decided["pregnant"])
    if ctx.gentle:
        ctx.decide("profile", decided["gentle"])
    if ctx.profile.sensitivities:
        ctx.decide("profile", decided["excluded"].format(sensitivities=", ".join(ctx.profile.sensitivities)))


def plan_warnings(ctx: Ctx, plan_slugs: list[str], unknown_concerns: list[str]) -> list[str]:
    """The plan's warnings: patch test first, then each one the plan's contents or the profile call for."""
    text = texts().warnings
    ingredients = [i for s in plan_slugs if (i := catalog.get(slug=s))]
    warnings = [text["patch_test"]]
    if any("retinoid" in i.groups for i in ingredients):
        warnings.append(text["retinoid"])
    if any(i.photosensitising for i in ingredients):
        warnings.append(text["photosensitising"])
    if "benzoyl_peroxide" in plan_slugs:
        warnings.append(text["benzoyl_peroxide"])
    if ctx.pregnant:
        warnings.append(text["pregnancy"])
    if ctx.need["acne"] == HIGH and "acne" in ctx.scores:
        warnings.append(text["severe_acne"])
    if ctx.child:
        warnings.append(text["child"])
    elif ctx.minor:
        warnings.append(text["minor"])
    for sensitivity in unmatched_sensitivities(ctx.profile.sensitivities):
        warnings.append(text["unknown_sensitivity"].format(sensitivity=sensitivity))
    for concern in unknown_concerns:
        warnings.append(text["unknown_concern"].format(concern=concern))
    return [*warnings, *ctx.warnings]
