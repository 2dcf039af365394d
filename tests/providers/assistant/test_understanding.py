"""Unit checks of the understanding layer's entity rules (the eval set covers whole messages)."""

import pytest

from app.providers.assistant.base import ChatTurn
from app.providers.assistant.understanding import find_ingredients, pregnancy_state, time_of_day, understand


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("i am pregnant", None),
        ("am i doing this right", None),
        ("what do i use in the am", "am"),
        ("my am routine", "am"),
        ("i wake up at 7am", "am"),
        ("this morning", "am"),
        ("tonight", "pm"),
        ("before bed", "pm"),
        ("recommend a movie for tonight", "pm"),
    ],
)
def test_time_of_day_never_reads_i_am_as_morning(text: str, expected: str | None) -> None:
    assert time_of_day(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("i'm pregnant", "pregnant"),
        ("im not pregnant", None),
        ("pregant and worried", "pregnant"),
        ("nursing my 3 month old", "breastfeeding"),
        ("breast feeding", "breastfeeding"),
        ("ttc since june", "trying"),
        ("trying to get pregnant", "trying"),
    ],
)
def test_pregnancy_mentions(text: str, expected: str | None) -> None:
    assert pregnancy_state(text) == expected


@pytest.mark.parametrize(
    ("text", "slugs"),
    [
        ("salycilic acid", ["salicylic_acid"]),
        ("adaplene", ["adapalene"]),
        ("niacinamid", ["niacinamide"]),
        ("hylauronic acid", ["hyaluronic_acid"]),
        ("bp and tret", ["benzoyl_peroxide", "tretinoin"]),
        ("vit c", ["l_ascorbic_acid"]),
        ("differin", ["adapalene"]),
        ("whats the weather like", []),
        ("my skin is peeling", []),
    ],
)
def test_ingredients_with_synonyms_and_typos(text: str, slugs: list[str]) -> None:
    assert find_ingredients(text) == slugs


def test_it_refers_to_the_ingredient_of_the_earlier_turn() -> None:
    history = [
        ChatTurn(role="user", content="my skin is peeling from adapalene"),
        ChatTurn(role="assistant", content="Mild peeling is common with Adapalene."),
    ]
    request = understand("should i stop using it?", history=history)
    assert (request.intent, request.referent) == ("side_effects", "adapalene")


def test_profile_pregnancy_turns_an_unsafe_ingredient_question_into_a_safety_question() -> None:
    request = understand("can i use my retinol serum tonight?", profile={"pregnant_or_breastfeeding": True})
    assert request.intent == "pregnancy_safety"
    assert request.pregnancy_from_profile
