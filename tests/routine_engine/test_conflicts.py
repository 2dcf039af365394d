from app.core.vocabulary import SkinType
from app.routine_engine import catalog
from app.routine_engine.conflicts import (
    blocking_pairs,
    check,
    matches_sensitivity,
    strongest_rule,
)
from app.routine_engine.models import ConflictReport, EngineProfile, ProductInput


def rule_ids(report: ConflictReport) -> dict[str, str]:
    return {f.rule_id: f.severity for f in report.conflicts}


def test_retinol_product_and_glycolic_product_is_an_avoid_conflict() -> None:
    report = check(
        products=[
            ProductInput(name="Night serum", inci="Aqua, Glycerin, Retinol, Tocopherol"),
            ProductInput(name="Glow toner", inci="Aqua, Glycolic Acid, Sodium Hydroxide"),
        ],
        profile=None,
    )
    [finding] = [f for f in report.conflicts if f.rule_id == "retinoid_aha"]
    assert finding.severity == "avoid"
    assert not finding.same_product
    assert (finding.a.slug, finding.a.product) == ("retinol", "Night serum")
    assert (finding.b.slug, finding.b.product) == ("glycolic_acid", "Glow toner")
    assert finding.fix == "alternate_nights"
    assert finding.sources
    assert report.worst_severity == "avoid"


def test_loose_ingredient_names_are_checked_against_each_other() -> None:
    report = check(ingredients=["Retinol", "salicylic acid", "niacinamide"], profile=None)
    assert rule_ids(report) == {"retinoid_bha": "avoid"}


def test_pairs_inside_one_product_are_info_formulated_together() -> None:
    report = check(
        products=[ProductInput(name="Duo gel", ingredients=["adapalene", "benzoyl peroxide"])], profile=None
    )
    [finding] = report.conflicts
    assert finding.same_product
    assert finding.severity == "info"
    assert finding.reason.startswith("Formulated together in Duo gel")


def test_tretinoin_with_benzoyl_peroxide_uses_the_specific_avoid_rule() -> None:
    assert strongest_rule("tretinoin", "benzoyl_peroxide").id == "tretinoin_benzoyl_peroxide"  # type: ignore[union-attr]
    assert strongest_rule("adapalene", "benzoyl_peroxide").id == "retinoid_benzoyl_peroxide"  # type: ignore[union-attr]
    assert strongest_rule("adapalene", "benzoyl_peroxide").severity == "caution"  # type: ignore[union-attr]
    report = check(ingredients=["Retin-A", "BPO"], profile=None)
    assert rule_ids(report) == {"tretinoin_benzoyl_peroxide": "avoid"}


def test_products_already_split_am_pm_are_downgraded_when_the_fix_is_splitting() -> None:
    report = check(
        products=[
            ProductInput(name="Vitamin C", ingredients=["ascorbic acid"], when="am"),
            ProductInput(name="Retinol cream", ingredients=["retinol"], when="pm"),
            ProductInput(name="AHA serum", ingredients=["glycolic acid"], when="pm"),
        ],
        profile=None,
    )
    assert rule_ids(report)["l_ascorbic_retinoid"] == "info"
    assert rule_ids(report)["retinoid_aha"] == "avoid"  # same evening, alternate nights still needed


def test_two_products_with_the_same_retinoid_are_doubled_up() -> None:
    report = check(
        products=[
            ProductInput(name="A", ingredients=["retinol"]),
            ProductInput(name="B", inci="Aqua, Retinol"),
        ],
        profile=None,
    )
    assert rule_ids(report) == {"multiple_retinoids": "avoid"}


def test_several_documented_pairs() -> None:
    assert strongest_rule("benzoyl_peroxide", "hydroquinone").severity == "avoid"  # type: ignore[union-attr]
    assert strongest_rule("copper_tripeptide_1", "glycolic_acid").id == "copper_peptide_exfoliating_acid"  # type: ignore[union-attr]
    assert strongest_rule("copper_tripeptide_1", "l_ascorbic_acid").id == "copper_peptide_l_ascorbic"  # type: ignore[union-attr]
    assert strongest_rule("l_ascorbic_acid", "benzoyl_peroxide").severity == "caution"  # type: ignore[union-attr]
    assert strongest_rule("glycolic_acid", "salicylic_acid").id == "multiple_exfoliating_acids"  # type: ignore[union-attr]
    assert strongest_rule("retinal", "sulfur").id == "retinoid_sulfur"  # type: ignore[union-attr]
    assert strongest_rule("glycerin", "retinol") is None


def test_niacinamide_with_vitamin_c_is_only_the_documented_myth() -> None:
    rule = strongest_rule("niacinamide", "l_ascorbic_acid")
    assert rule is not None
    assert rule.severity == "info"
    assert rule.evidence == "myth"
    assert blocking_pairs(slugs=["niacinamide", "l_ascorbic_acid"]) == []


def test_pregnancy_flags_retinol_and_hydroquinone_and_cautions_salicylic() -> None:
    profile = EngineProfile(pregnant_or_breastfeeding=True)
    report = check(ingredients=["retinol", "hydroquinone", "salicylic acid", "glycerin"], profile=profile)
    pregnancy = {c.slug: c.severity for c in report.cautions if c.kind == "pregnancy"}
    assert pregnancy == {"retinol": "avoid", "hydroquinone": "avoid", "salicylic_acid": "caution"}


def test_high_dose_salicylic_in_pregnancy_is_avoid() -> None:
    profile = EngineProfile(pregnant_or_breastfeeding=True)
    report = check(products=[ProductInput(name="Peel", inci="Aqua, Salicylic Acid 30%")], profile=profile)
    assert [(c.slug, c.severity) for c in report.cautions] == [("salicylic_acid", "avoid")]


def test_no_profile_means_no_cautions() -> None:
    assert check(ingredients=["retinol"], profile=None).cautions == []


def test_fragrance_sensitivity_flags_parfum_linalool_and_essential_oils() -> None:
    profile = EngineProfile(sensitivities=["Fragrance"])
    report = check(
        products=[
            ProductInput(name="Cream", inci="Aqua, Glycerin, Parfum, Linalool, Lavandula Angustifolia Oil")
        ],
        profile=profile,
    )
    flagged = [c.slug for c in report.cautions if c.kind == "sensitivity"]
    assert flagged == ["parfum", "linalool", "lavender_oil"]
    assert all(
        c.severity == "avoid" and c.product == "Cream" for c in report.cautions if c.kind == "sensitivity"
    )


def test_sensitivity_matching_by_slug_group_alias_and_plural() -> None:
    retinol = catalog.get(slug="retinol")
    assert retinol is not None
    assert matches_sensitivity(retinol, "retinol")
    assert matches_sensitivity(retinol, "Retinoids")
    assert matches_sensitivity(retinol, "vitamin A")
    assert not matches_sensitivity(retinol, "fragrance")
    alcohol = catalog.get(slug="alcohol_denat")
    fatty = catalog.get(slug="cetearyl_alcohol")
    assert alcohol is not None
    assert fatty is not None
    assert matches_sensitivity(alcohol, "alcohol")
    assert not matches_sensitivity(fatty, "alcohol")


def test_sensitive_skin_gets_cautions_for_irritating_ingredients() -> None:
    profile = EngineProfile(skin_type=SkinType.SENSITIVE)
    report = check(ingredients=["glycolic acid", "glycerin"], profile=profile)
    assert [(c.kind, c.slug, c.severity) for c in report.cautions] == [
        ("sensitive_skin", "glycolic_acid", "caution")
    ]


def test_unknown_names_and_unmatched_sensitivities_are_listed() -> None:
    profile = EngineProfile(sensitivities=["parabens", "fragrance"])
    report = check(
        ingredients=["dragon scale extract"],
        products=[ProductInput(name="Mystery", inci="Aqua, Unobtainium")],
        profile=profile,
    )
    assert [(u.name, u.product) for u in report.unknown] == [
        ("dragon scale extract", None),
        ("unobtainium", "Mystery"),
    ]
    assert report.unmatched_sensitivities == ["parabens"]
    assert [r.slug for r in report.resolved] == [None, "water", None]


def test_empty_check_is_an_empty_report() -> None:
    report = check(profile=None)
    assert report.conflicts == []
    assert report.cautions == []
    assert report.worst_severity is None
