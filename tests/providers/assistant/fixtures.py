"""A realistic user context built with the real routine engine (no database)."""

from typing import Any

from app.providers.assistant.base import ChatContext
from app.routine_engine import EngineProfile, build_plan, today

SCORES = {
    "acne": 42.0,
    "redness": 61.0,
    "oiliness": 48.0,
    "hydration": 70.0,
    "pores": 55.0,
    "wrinkles": 82.0,
    "pigmentation": 66.0,
    "dark_circles": 74.0,
    "texture": 58.0,
    "evenness": 63.0,
    "overall": 62.0,
}
BASELINE = {"acne": 36.0, "redness": 58.0, "oiliness": 50.0, "hydration": 71.0, "pores": 52.0}
REGIONS = {"forehead": 57.0, "nose": 49.0, "left_cheek": 66.0, "right_cheek": 68.0, "chin": 44.0}
TODAY = "2026-11-25"  # a Wednesday in week 2 (Wed is a rest night that week)
SCAN_DATE = "2026-11-21T09:30:00Z"
START = "2026-11-16"


def user_context(*, pregnant: bool = False, with_plan: bool = True) -> ChatContext:
    """An oily, acne-prone user in week 2 of a locked plan with adapalene and salicylic acid nights."""
    profile: dict[str, Any] = {
        "full_name": "Maya Lopez",
        "skin_type": "oily",
        "primary_concern": "acne",
        "concerns": ["acne"],
        "sensitivities": [],
        "pregnant_or_breastfeeding": pregnant,
        "age": 27,
    }
    plan_model = build_plan(
        profile=EngineProfile(skin_type="oily", concerns=["acne"], pregnant_or_breastfeeding=pregnant),
        scores=SCORES,
    )
    routine = plan_model.model_dump(mode="json")
    plan = {
        "plan_id": "01PLAN",
        "status": "active",
        "start_date": START,
        "baseline_scores": {**SCORES, **BASELINE},
        "primary_concerns": routine["primary_concerns"],
        "am": routine["am"],
        "pm": routine["pm"],
        "night_treatments": routine["night_treatments"],
        "weekly_schedule": routine["weekly_schedule"],
        "reasoning": routine["reasoning"],
        "warnings": routine["warnings"],
        "is_locked": True,
        "days_elapsed": 9,
        "days_remaining": 19,
        "current_week": 2,
        "today": today(plan_model, week=2, weekday=2),
    }
    changes = {m: SCORES[m] - v for m, v in BASELINE.items()}
    scan = {
        "scan_id": "01SCAN",
        "scan_date": SCAN_DATE,
        "scores": SCORES,
        "regions": REGIONS,
        "deltas": {"baseline": {"scan_date": "2026-11-14T09:00:00Z", "changes": changes}},
    }
    adherence = {"am_percent": 80.0, "pm_percent": 70.0, "streak_days": 3, "reactions": []}
    return ChatContext(
        profile=profile,
        latest_scan=scan,
        plan=plan if with_plan else None,
        adherence=adherence if with_plan else None,
        today=TODAY,
    )
