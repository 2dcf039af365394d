"""The chat's red-flag advice and a severe reaction in a check-in lead to the referral flow."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.referral import DERMATOLOGIST_DIRECTORY_PATH
from app.providers.assistant.safety import REFERRAL_LINE, red_flags, safety_answer
from tests.helpers import send, today, upload_scan, wait_for
from tests.images import face_jpeg


@pytest.mark.parametrize(
    "message",
    [
        "I have a mole on my back that has started bleeding and getting bigger",
        "a sore on my nose that won't heal for 6 weeks",
        "my cheek is red, hot to the touch and the redness is spreading, I have a fever",
        "deep painful cysts on my jaw that leave scars",
    ],
)
def test_red_flags_a_dermatologist_should_see_point_to_the_referral_flow(
    client: TestClient, user: dict[str, Any], message: str
) -> None:
    turn = send(client, user, message)
    answer = turn["assistant_message"]
    assert answer["intent"] == "red_flag"
    assert DERMATOLOGIST_DIRECTORY_PATH in answer["content"]
    # The advice itself still comes first; the referral is an addition to it.
    assert answer["content"].startswith("**Please read this first.**")


def test_an_emergency_answer_says_only_what_to_do_now(client: TestClient, user: dict[str, Any]) -> None:
    turn = send(client, user, "my face has hives and my throat is closing, I can't breathe")
    assert "emergency" in turn["assistant_message"]["content"]
    assert DERMATOLOGIST_DIRECTORY_PATH not in turn["assistant_message"]["content"]


def test_ordinary_questions_carry_no_referral(client: TestClient, user: dict[str, Any]) -> None:
    turn = send(client, user, "can I use niacinamide with vitamin C?")
    assert DERMATOLOGIST_DIRECTORY_PATH not in turn["assistant_message"]["content"]


def test_the_referral_line_follows_the_advice_once() -> None:
    flags = red_flags("a mole that bleeds and a sore that won't heal")
    assert [f.category for f in flags] == ["changing_mole", "non_healing_sore"]
    answer = safety_answer(flags)
    assert answer.count(REFERRAL_LINE) == 1
    assert answer.endswith(REFERRAL_LINE)


def test_a_severe_reaction_check_in_links_to_the_directory(client: TestClient, register: Any) -> None:
    user = register()
    wait_for(client, user["headers"], upload_scan(client, user["headers"], face_jpeg())["scan_id"])
    plan = client.post("/api/v1/plans", headers=user["headers"], json={}).json()
    checkins = f"/api/v1/plans/{plan['plan_id']}/checkins"
    mild = client.post(
        checkins,
        headers=user["headers"],
        json={"date": today(), "am_done": True, "pm_done": True, "reaction": {"severity": "mild"}},
    ).json()
    assert mild["referral_url"] is None
    severe = client.post(
        checkins,
        headers=user["headers"],
        json={"date": today(), "am_done": True, "pm_done": True, "reaction": {"severity": "severe"}},
    ).json()
    assert severe["advice"]
    assert severe["referral_url"].endswith(DERMATOLOGIST_DIRECTORY_PATH)
    directory = client.get(severe["referral_url"], headers=user["headers"])
    assert directory.status_code == 200
    assert directory.json()["items"]
