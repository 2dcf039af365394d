"""The builder's wording, read once from data/plan_texts.json: product texts per ingredient, concern words, level words, warnings."""

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

TEXTS_FILE = "plan_texts.json"
ProductText = tuple[str, str]  # (product description, how to use it)


@dataclass(frozen=True)
class PlanTexts:
    """Every fixed phrase the builder can put into a plan."""

    concern_synonyms: dict[str, str]
    level_words: dict[str, str]
    renewal: dict[str, ProductText]
    gentle_retinol: ProductText
    exfoliant: dict[str, ProductText]
    serum: dict[str, ProductText]
    warnings: dict[str, str]
    decisions: dict[str, str]


def _pair(value: Any) -> ProductText:
    """A [product, how] pair from the file."""
    product, how = value
    return str(product), str(how)


def _pairs(table: dict[str, Any]) -> dict[str, ProductText]:
    """A table of [product, how] pairs by slug."""
    return {slug: _pair(value) for slug, value in table.items()}


@lru_cache(maxsize=1)
def texts() -> PlanTexts:
    """The parsed texts file (loaded on first use, then cached)."""
    path = resources.files("app.routine_engine").joinpath("data", TEXTS_FILE)
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return PlanTexts(
        concern_synonyms={str(k): str(v) for k, v in raw["concern_synonyms"].items()},
        level_words={str(k): str(v) for k, v in raw["level_words"].items()},
        renewal=_pairs(raw["renewal"]),
        gentle_retinol=_pair(raw["gentle_retinol"]),
        exfoliant=_pairs(raw["exfoliant"]),
        serum=_pairs(raw["serum"]),
        warnings={str(k): str(v) for k, v in raw["warnings"].items()},
        decisions={str(k): str(v) for k, v in raw["decisions"].items()},
    )
