"""The domain's fixed words, shared by schemas, the vision providers and the routine engine."""

from enum import StrEnum


class SkinType(StrEnum):
    OILY = "oily"
    DRY = "dry"
    COMBINATION = "combination"
    NORMAL = "normal"
    SENSITIVE = "sensitive"


class SkinMetric(StrEnum):
    """Scored 0-100, higher = healthier. Also the concerns a user can pick."""

    ACNE = "acne"
    REDNESS = "redness"
    OILINESS = "oiliness"
    HYDRATION = "hydration"
    PORES = "pores"
    WRINKLES = "wrinkles"
    PIGMENTATION = "pigmentation"
    DARK_CIRCLES = "dark_circles"
    TEXTURE = "texture"
    EVENNESS = "evenness"


OVERALL = "overall"
METRICS: tuple[str, ...] = tuple(m.value for m in SkinMetric)
METRICS_WITH_OVERALL: tuple[str, ...] = (*METRICS, OVERALL)


class ScanAngle(StrEnum):
    FRONT = "front"
    LEFT = "left"
    RIGHT = "right"
