import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.vocabulary import METRICS, SkinType
from app.routine_engine import catalog
from app.routine_engine.builder import build_plan, plan_slugs, today
from app.routine_engine.models import EngineProfile

from .helpers import am_slugs, blocking_violations, pm_base_slugs, retinoid_nights

HEALTHY = dict.fromkeys(METRICS, 90.0)


def groups_in(slugs: list[str]) -> set[str]:
    return {g for s in slugs for g in catalog.get(slug=s).groups}  # type: ignore[union-attr]


def test_acne_prone_oily_profile_gets_bha_bp_or_adapalene() -> None:
    profile = EngineProfile(skin_type=SkinType.OILY, concerns=["acne"])
    plan = build_plan(profile=profile, scores={**HEALTHY, "acne": 25, "oiliness": 35})
    slugs = plan_slugs(plan)
    assert {"salicylic_acid", "benzoyl_peroxide", "adapalene"} & set(slugs)
    assert plan.primary_concerns[0] == "acne"
    assert any(r.metric == "acne" and r.score == 25 for r in plan.reasoning)


def test_low_pigmentation_gets_a_brightening_active() -> None:
    plan = build_plan(
        profile=EngineProfile(skin_type=SkinType.NORMAL), scores={**HEALTHY, "pigmentation": 30}
    )
    brighteners = {
        "niacinamide",
        "azelaic_acid",
        "tranexamic_acid",
        *(i.slug for i in catalog.in_group(group="vitamin_c")),
    }
    assert brighteners & set(plan_slugs(plan))
    assert plan.am[-1].key_ingredients[-1] == "iron_oxides"  # tinted sunscreen for pigmentation


def test_low_hydration_gets_humectants_and_ceramides() -> None:
    plan = build_plan(profile=EngineProfile(skin_type=SkinType.DRY), scores={**HEALTHY, "hydration": 25})
    slugs = plan_slugs(plan)
    assert "humectant" in groups_in(slugs)
    assert "ceramides" in slugs
    moisturisers = [s for s in [*plan.am, *plan.pm] if s.category == "moisturizer"]
    assert all("ceramides" in s.key_ingredients for s in moisturisers)


def test_pregnant_acne_profile_uses_bakuchiol_and_azelaic_and_no_retinoid() -> None:
    profile = EngineProfile(skin_type=SkinType.COMBINATION, concerns=["acne"], pregnant_or_breastfeeding=True)
    plan = build_plan(profile=profile, scores={**HEALTHY, "acne": 30, "wrinkles": 40})
    slugs = plan_slugs(plan)
    assert "retinoid" not in groups_in(slugs)
    assert "salicylic_acid" not in slugs
    assert {"bakuchiol", "azelaic_acid"} <= set(slugs)
    assert any("Pregnancy" in w for w in plan.warnings)


def test_sensitive_skin_gets_gentler_forms() -> None:
    profile = EngineProfile(skin_type=SkinType.SENSITIVE)
    plan = build_plan(profile=profile, scores={**HEALTHY, "texture": 30, "wrinkles": 35, "pigmentation": 45})
    slugs = plan_slugs(plan)
    assert not {"glycolic_acid", "adapalene", "retinal", "l_ascorbic_acid"} & set(slugs)
    assert {"gluconolactone", "mandelic_acid"} & set(slugs)
    assert retinoid_nights(plan, 1) == 1
    assert retinoid_nights(plan, 3) == 2
    assert plan.am[-1].key_ingredients[0] == "zinc_oxide"


def test_wrinkle_profile_ramps_retinoid_two_then_three_nights() -> None:
    plan = build_plan(
        profile=EngineProfile(skin_type=SkinType.NORMAL, age=45), scores={**HEALTHY, "wrinkles": 30}
    )
    assert [retinoid_nights(plan, w) for w in (1, 2, 3, 4)] == [2, 2, 3, 3]
    [treatment] = plan.night_treatments
    assert treatment.step.key_ingredients == ["retinal"]
    assert treatment.step.frequency == "2 nights/week in weeks 1-2, then 3 nights/week"


def test_fallback_choices_are_checked_for_conflicts() -> None:
    # Matrixyl is excluded, the next peptide is GHK-Cu, but copper peptides clash with the exfoliant nights.
    profile = EngineProfile(skin_type=SkinType.NORMAL, age=40, sensitivities=["matrixyl"])
    plan = build_plan(profile=profile, scores={**HEALTHY, "wrinkles": 35, "texture": 35})
    slugs = plan_slugs(plan)
    assert "exfoliating_acid" in groups_in(slugs)
    assert "copper_tripeptide_1" not in slugs
    assert "acetyl_hexapeptide_8" in pm_base_slugs(plan)


def test_healthy_skin_gets_the_basics_only() -> None:
    plan = build_plan(profile=EngineProfile(), scores=HEALTHY)
    assert [s.category for s in plan.am] == ["cleanser", "moisturizer", "sunscreen"]
    assert [s.category for s in plan.pm] == ["cleanser", "moisturizer"]
    assert plan.night_treatments == []
    assert all(n.focus == "rest" for w in plan.weekly_schedule for n in w.nights)
    assert plan.am[-1].spf == 30


def test_steps_follow_the_routine_order() -> None:
    profile = EngineProfile(skin_type=SkinType.OILY, concerns=["acne", "dark circles"])
    plan = build_plan(profile=profile, scores={**HEALTHY, "acne": 20, "dark_circles": 30, "wrinkles": 50})
    am = [s.category for s in plan.am]
    assert am[0] == "cleanser"
    assert am[-2:] == ["moisturizer", "sunscreen"]
    assert "eye_cream" in am
    assert [s.step for s in plan.am] == list(range(1, len(plan.am) + 1))
    pm = [s.category for s in plan.pm]
    assert pm[0] == "cleanser"
    assert pm[1] == "night_treatment"
    assert pm[-1] == "moisturizer"


def test_sensitivity_to_every_uv_filter_still_keeps_a_sunscreen_step_and_warns() -> None:
    plan = build_plan(profile=EngineProfile(sensitivities=["sunscreen_filter"]), scores=HEALTHY)
    assert plan.am[-1].category == "sunscreen"
    assert plan.am[-1].key_ingredients == []
    assert any("UV filter" in w for w in plan.warnings)


def test_unknown_concerns_and_sensitivities_are_warned_about() -> None:
    plan = build_plan(profile=EngineProfile(concerns=["glow"], sensitivities=["parabens"]), scores=HEALTHY)
    assert any("'glow'" in w for w in plan.warnings)
    assert any("'parabens'" in w for w in plan.warnings)


def test_concern_synonyms_map_to_metrics() -> None:
    plan = build_plan(profile=EngineProfile(concerns=["dark spots", "Fine lines"]), scores={})
    assert plan.primary_concerns == ["pigmentation", "wrinkles"]


def test_children_get_no_actives() -> None:
    plan = build_plan(profile=EngineProfile(age=9, concerns=["acne"]), scores={"acne": 20, "texture": 20})
    assert plan.night_treatments == []
    assert all(catalog.get(slug=s).strength <= 3 for s in plan_slugs(plan))  # type: ignore[union-attr]


@pytest.mark.parametrize("bad", [-1.0, 100.5, float("nan"), float("inf")])
def test_out_of_range_scores_are_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match="must be within 0-100"):
        build_plan(profile=EngineProfile(), scores={"acne": bad})


def test_unknown_score_keys_are_ignored() -> None:
    assert build_plan(profile=EngineProfile(), scores={"overall": 12, "glow": 3}) == build_plan(
        profile=EngineProfile(), scores={}
    )


def test_today_slots_in_the_nights_active_and_respects_ramped_mornings() -> None:
    profile = EngineProfile(skin_type=SkinType.OILY, concerns=["acne"])
    plan = build_plan(profile=profile, scores={**HEALTHY, "acne": 25})
    monday = today(plan, week=1, weekday=0)
    assert monday["night_focus"] == "retinoid"
    assert monday["night_actives"] == ["adapalene"]
    assert [s["key_ingredients"] for s in monday["pm"] if s["category"] == "night_treatment"] == [
        ["adapalene"]
    ]
    assert [s["step"] for s in monday["pm"]] == list(range(1, len(monday["pm"]) + 1))
    tuesday = today(plan, week=1, weekday=1)
    assert tuesday["night_focus"] == "rest"
    assert all(s["category"] != "night_treatment" for s in tuesday["pm"])
    # benzoyl peroxide: 4 mornings a week in weeks 1-2 (Mon/Wed/Fri/Sun), daily later
    assert "benzoyl_peroxide" not in [k for s in tuesday["am"] for k in s["key_ingredients"]]
    assert "benzoyl_peroxide" in [
        k for s in today(plan, week=3, weekday=1)["am"] for k in s["key_ingredients"]
    ]
    assert today(plan, week=9, weekday=0)["night_focus"] == today(plan, week=4, weekday=0)["night_focus"]
    with pytest.raises(ValueError, match="weekday must be"):
        today(plan, week=1, weekday=7)
    with pytest.raises(ValueError, match="week starts at 1"):
        today(plan, week=0, weekday=0)


def test_every_day_of_every_week_is_conflict_free() -> None:
    profile = EngineProfile(skin_type=SkinType.COMBINATION, concerns=["acne", "pigmentation", "wrinkles"])
    plan = build_plan(profile=profile, scores=dict.fromkeys(METRICS, 30.0))
    for week in range(1, 5):
        for day in range(7):
            routine = today(plan, week=week, weekday=day)
            for part in ("am", "pm"):
                assert blocking_violations([k for s in routine[part] for k in s["key_ingredients"]]) == []
    assert blocking_violations(am_slugs(plan)) == []
    assert blocking_violations(pm_base_slugs(plan)) == []


def test_plan_is_json_serialisable() -> None:
    plan = build_plan(profile=EngineProfile(skin_type=SkinType.DRY), scores=dict.fromkeys(METRICS, 45.0))
    assert json.loads(json.dumps(plan.model_dump(mode="json")))["am"][-1]["category"] == "sunscreen"


_SCRIPT = """
import json
from app.routine_engine.builder import build_plan
from app.routine_engine.models import EngineProfile
profile = EngineProfile(skin_type="combination", concerns=["acne", "dark spots"], sensitivities=["fragrance", "retinol"])
plan = build_plan(profile=profile, scores={"acne": 31, "pigmentation": 44, "wrinkles": 52, "hydration": 58})
print(json.dumps(plan.model_dump(mode="json"), sort_keys=True))
"""


def test_output_does_not_depend_on_hash_seed() -> None:
    root = Path(__file__).resolve().parents[2]
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", _SCRIPT], cwd=root, env=env, capture_output=True, text=True, check=True
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0]
