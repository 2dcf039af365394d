import pytest
from pydantic import ValidationError

from app.core.vocabulary import METRICS
from app.routine_engine import catalog

REQUIRED_SLUGS = [
    "retinol",
    "retinal",
    "adapalene",
    "tretinoin",
    "bakuchiol",
    "glycolic_acid",
    "lactic_acid",
    "mandelic_acid",
    "salicylic_acid",
    "gluconolactone",
    "benzoyl_peroxide",
    "azelaic_acid",
    "l_ascorbic_acid",
    "sodium_ascorbyl_phosphate",
    "ascorbyl_glucoside",
    "ethyl_ascorbic_acid",
    "tetrahexyldecyl_ascorbate",
    "niacinamide",
    "hyaluronic_acid",
    "glycerin",
    "ceramides",
    "cholesterol",
    "fatty_acids",
    "squalane",
    "palmitoyl_pentapeptide_4",
    "copper_tripeptide_1",
    "acetyl_hexapeptide_8",
    "centella_asiatica",
    "panthenol",
    "allantoin",
    "zinc_pca",
    "zinc_oxide",
    "titanium_dioxide",
    "avobenzone",
    "octocrylene",
    "homosalate",
    "octisalate",
    "bemotrizinol",
    "sulfur",
    "tranexamic_acid",
    "alpha_arbutin",
    "kojic_acid",
    "hydroquinone",
    "licorice_root_extract",
    "urea",
    "petrolatum",
    "dimethicone",
    "shea_butter",
    "jojoba_oil",
    "tea_tree_oil",
    "parfum",
    "linalool",
    "limonene",
    "lavender_oil",
    "citrus_peel_oils",
    "alcohol_denat",
    "caffeine",
    "tocopherol",
    "green_tea_extract",
    "colloidal_oatmeal",
    "aloe_vera",
]
REQUIRED_RULES = [
    "retinoid_aha",
    "retinoid_bha",
    "retinoid_benzoyl_peroxide",
    "tretinoin_benzoyl_peroxide",
    "multiple_exfoliating_acids",
    "l_ascorbic_benzoyl_peroxide",
    "l_ascorbic_retinoid",
    "benzoyl_peroxide_hydroquinone",
    "copper_peptide_exfoliating_acid",
    "copper_peptide_l_ascorbic",
    "niacinamide_l_ascorbic",
    "multiple_retinoids",
    "retinoid_sulfur",
]


def test_database_is_large_versioned_and_has_unique_slugs() -> None:
    loaded = catalog.load_catalog()
    slugs = [i.slug for i in loaded.ingredients]
    assert len(slugs) >= 60
    assert len(set(slugs)) == len(slugs)
    assert loaded.version
    assert loaded.rules_version


def test_required_ingredients_and_rules_exist() -> None:
    assert [s for s in REQUIRED_SLUGS if catalog.get(slug=s) is None] == []
    rule_ids = {r.id for r in catalog.rules()}
    assert [r for r in REQUIRED_RULES if r not in rule_ids] == []


def test_every_name_alias_inci_and_slug_resolves_back() -> None:
    for ingredient in catalog.all_ingredients():
        for term in (ingredient.slug, ingredient.name, ingredient.inci_name, *ingredient.aliases):
            found = catalog.resolve(name=term)
            assert found is not None, term
            assert found.slug == ingredient.slug, (term, ingredient.slug)
            assert catalog.resolve(name=term.upper()) == found


def test_aliases_are_lowercase() -> None:
    for ingredient in catalog.all_ingredients():
        assert all(a == a.lower() for a in ingredient.aliases), ingredient.slug


def test_every_rule_token_exists_on_at_least_one_ingredient() -> None:
    ingredients = catalog.all_ingredients()
    for rule in catalog.rules():
        for token in (rule.a, rule.b):
            assert any(catalog.matches_token(i, token) for i in ingredients), (rule.id, token)


def test_every_source_is_non_empty() -> None:
    for ingredient in catalog.all_ingredients():
        assert ingredient.sources, ingredient.slug
        assert all(s.strip() for s in ingredient.sources), ingredient.slug
    for rule in catalog.rules():
        assert rule.sources, rule.id
        assert all(s.strip() for s in rule.sources), rule.id
        assert rule.reason.strip()
        assert rule.fix_text.strip()


def test_targets_are_metrics_and_ratings_in_range() -> None:
    for ingredient in catalog.all_ingredients():
        assert set(ingredient.targets) <= set(METRICS), ingredient.slug
        assert 1 <= ingredient.strength <= 5
        assert 0 <= ingredient.irritation <= 5
        assert 0 <= ingredient.comedogenic <= 5


def test_retinoids_are_avoided_in_pregnancy() -> None:
    retinoids = catalog.in_group(group="retinoid")
    assert {"retinol", "retinal", "adapalene", "tretinoin"} <= {i.slug for i in retinoids}
    assert all(i.pregnancy == "avoid" for i in retinoids)
    assert catalog.get(slug="hydroquinone").pregnancy == "avoid"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Parfum (Fragrance)", "parfum"),
        ("FRAGRANCE", "parfum"),
        ("  sodium   hyaluronate ", "hyaluronic_acid"),
        ("L-Ascorbic Acid", "l_ascorbic_acid"),
        ("Alcohol Denat.", "alcohol_denat"),
        ("Butyrospermum Parkii (Shea) Butter", "shea_butter"),
        ("C.I. 77891", "titanium_dioxide"),
        ("Aqua/Water/Eau", "water"),
        ("Retinaldehyde", "retinal"),
        ("GHK-Cu", "copper_tripeptide_1"),
        ("Glycerin*", "glycerin"),
        ("crème de glycérine", None),
    ],
)
def test_resolve_normalises_names(name: str, slug: str | None) -> None:
    found = catalog.resolve(name=name)
    assert (found.slug if found else None) == slug


def test_resolve_refuses_blends_of_different_ingredients() -> None:
    assert catalog.resolve(name="Titanium Dioxide (and) Glycerin") is None
    assert catalog.resolve(name="Parfum (and) Fragrance") == catalog.get(slug="parfum")


def test_get_unknown_slug_is_none() -> None:
    assert catalog.get(slug="unicorn_tears") is None


def test_search_puts_prefix_matches_first_and_paginates() -> None:
    page, total = catalog.search(query="ret", limit=3, offset=0)
    assert total >= 4
    assert all(i.name.lower().startswith("ret") or any(a.startswith("ret") for a in i.aliases) for i in page)
    second, total_again = catalog.search(query="ret", limit=3, offset=3)
    assert total_again == total
    assert not {i.slug for i in page} & {i.slug for i in second}


def test_search_is_case_insensitive_and_matches_aliases_inci_and_groups() -> None:
    assert catalog.search(query="NIACIN", limit=5, offset=0)[0][0].slug == "niacinamide"
    assert catalog.search(query="argireline", limit=5, offset=0)[0][0].slug == "acetyl_hexapeptide_8"
    assert catalog.search(query="butyl methoxydibenzoylmethane", limit=5, offset=0)[0][0].slug == "avobenzone"
    retinoids, _ = catalog.search(query="retinoid", limit=50, offset=0)
    assert {"adapalene", "retinol", "tretinoin"} <= {i.slug for i in retinoids}


def test_search_empty_query_lists_everything_and_rejects_negative_paging() -> None:
    page, total = catalog.search(query="", limit=10, offset=0)
    assert total == len(catalog.all_ingredients())
    assert len(page) == 10
    assert catalog.search(query="zzzz-no-such-thing", limit=10, offset=0) == ([], 0)
    with pytest.raises(ValueError, match="must be >= 0"):
        catalog.search(query="a", limit=-1, offset=0)


def test_catalog_objects_are_immutable() -> None:
    ingredient = catalog.get(slug="retinol")
    with pytest.raises(ValidationError, match="frozen"):
        ingredient.strength = 1  # type: ignore[misc,union-attr]
