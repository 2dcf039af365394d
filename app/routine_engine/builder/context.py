"""What the builder derives from its input once: validated scores, need levels and the profile's flags."""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from app.core.vocabulary import METRICS, SkinType
from app.routine_engine.builder.texts import texts
from app.routine_engine.conflicts import sensitivity_slugs
from app.routine_engine.models import EngineProfile
from app.routine_engine.names import name_key, unique

WEEKS = 4
DAILY = 7
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HIGH, MODERATE, MILD, NONE = 3, 2, 1, 0
_LEVEL_NAMES = {HIGH: "high", MODERATE: "moderate", MILD: "mild", NONE: "none"}


@dataclass
class Ctx:
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
        """Record why the plan does something, for the reasoning list."""
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


def level_words(level: int) -> str:
    """'high need', 'healthy range', ... for a need level."""
    return texts().level_words[_LEVEL_NAMES[level]]


def validate_scores(scores: Mapping[str, float]) -> dict[str, float]:
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
    return by_key.get(key) or texts().concern_synonyms.get(key)


def make_context(profile: EngineProfile, scores: dict[str, float]) -> Ctx:
    """The context for one build: need per metric (chosen concerns count as at least moderate) and flags."""
    concern_metrics = unique(m for c in profile.concerns if (m := concern_metric(c)))
    need = {m: need_level(scores.get(m)) for m in METRICS}
    for metric in concern_metrics:
        need[metric] = max(need[metric], MODERATE)  # a concern the user chose counts as at least moderate
    reported = any(sensitivity_slugs(s) for s in profile.sensitivities)
    gentle = profile.skin_type == SkinType.SENSITIVE or reported or need["redness"] == HIGH
    age = profile.age
    return Ctx(
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
