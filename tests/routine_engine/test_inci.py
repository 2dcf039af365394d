from app.routine_engine.inci import parse_inci, split_inci


def slugs(text: str) -> list[str | None]:
    return [e.slug for e in parse_inci(text=text).entries]


def test_simple_list_with_parentheses_colour_index_and_trailing_period() -> None:
    text = "Aqua, Glycerin, Niacinamide, Retinol, Salicylic Acid, Parfum (Fragrance), CI 77891, Linalool."
    assert split_inci(text=text) == [
        "aqua",
        "glycerin",
        "niacinamide",
        "retinol",
        "salicylic acid",
        "parfum (fragrance)",
        "ci 77891",
        "linalool",
    ]
    assert slugs(text) == [
        "water",
        "glycerin",
        "niacinamide",
        "retinol",
        "salicylic_acid",
        "parfum",
        "titanium_dioxide",
        "linalool",
    ]
    assert parse_inci(text=text).unknown == []


def test_commas_inside_parentheses_blends_footnotes_and_unknowns() -> None:
    text = (
        "Ingredients: Water (Aqua, Eau), Butyrospermum Parkii (Shea) Butter, Titanium Dioxide (and) Alumina, "
        "Alcohol Denat., Glycerin*, Aloe Barbadensis Leaf Juice*, "
        "Hydroxyethyl Acrylate/Sodium Acryloyldimethyl Taurate Copolymer, Tocopherol. *Certified organic"
    )
    result = parse_inci(text=text)
    assert [e.slug for e in result.entries] == [
        "water",
        "shea_butter",
        "titanium_dioxide",
        None,
        "alcohol_denat",
        "glycerin",
        "aloe_vera",
        None,
        "tocopherol",
    ]
    assert result.unknown == ["alumina", "hydroxyethyl acrylate/sodium acryloyldimethyl taurate copolymer"]
    assert result.notes == ["*Certified organic"]


def test_may_contain_section_in_brackets_and_percentages() -> None:
    text = "Aqua/Water/Eau, Cetearyl Alcohol, Niacinamide 10%, Zinc PCA (1%), Phenoxyethanol [+/- CI 77491, CI 77492]"
    result = parse_inci(text=text)
    assert [(e.slug, e.may_contain) for e in result.entries] == [
        ("water", False),
        ("cetearyl_alcohol", False),
        ("niacinamide", False),
        ("zinc_pca", False),
        ("phenoxyethanol", False),
        ("iron_oxides", True),
        ("iron_oxides", True),
    ]
    assert [e.percent for e in result.entries][2:4] == [10.0, 1.0]


def test_may_contain_after_a_period_and_unknown_names_are_listed() -> None:
    text = "Cyclopentasiloxane, Dimethicone, Mica, Iron Oxides. May Contain: CI 77891, CI 77491."
    result = parse_inci(text=text)
    assert [e.name for e in result.entries] == [
        "cyclopentasiloxane",
        "dimethicone",
        "mica",
        "iron oxides",
        "ci 77891",
        "ci 77491",
    ]
    assert [e.may_contain for e in result.entries] == [False, False, False, False, True, True]
    assert result.unknown == ["cyclopentasiloxane", "mica"]


def test_and_splits_only_when_both_sides_are_known() -> None:
    result = parse_inci(text="Aqua, Glycerin and Panthenol, Polysorbate 20 & Sorbitan Oleate, Fragrance")
    assert [e.name for e in result.entries] == [
        "aqua",
        "glycerin",
        "panthenol",
        "polysorbate 20 & sorbitan oleate",
        "fragrance",
    ]
    assert result.unknown == ["polysorbate 20 & sorbitan oleate"]


def test_newline_separated_upper_case_list() -> None:
    assert slugs("WATER\nGLYCERIN\nSODIUM HYALURONATE\nPANTHENOL\n") == [
        "water",
        "glycerin",
        "hyaluronic_acid",
        "panthenol",
    ]


def test_realistic_sunscreen_list() -> None:
    text = (
        "Aqua, Homosalate, Butyl Methoxydibenzoylmethane, Ethylhexyl Salicylate, Octocrylene, "
        "Bis-Ethylhexyloxyphenol Methoxyphenyl Triazine, Glycerin, Niacinamide, Tocopherol, "
        "Citrus Aurantium Bergamia (Bergamot) Fruit Oil, Limonene, Disodium EDTA."
    )
    assert slugs(text) == [
        "water",
        "homosalate",
        "avobenzone",
        "octisalate",
        "octocrylene",
        "bemotrizinol",
        "glycerin",
        "niacinamide",
        "tocopherol",
        "citrus_peel_oils",
        "limonene",
        "disodium_edta",
    ]


def test_empty_items_and_stray_separators_are_ignored() -> None:
    assert split_inci(text="Aqua, , Glycerin;  Panthenol ,") == ["aqua", "glycerin", "panthenol"]
    assert parse_inci(text="").entries == []
