"""Chat over HTTP with the offline assistant: grounding, safety, streaming, history."""

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.vocabulary import METRICS
from tests.helpers import CHAT, send, upload_scan, wait_for
from tests.images import face_jpeg


@pytest.fixture
def user_with_plan(client: TestClient, register) -> dict[str, Any]:
    user = register(full_name="Maya Lopez", skin_type="combination", primary_concern="acne")
    scan = wait_for(client, user["headers"], upload_scan(client, user["headers"], face_jpeg())["scan_id"])
    plan = client.post("/api/v1/plans", headers=user["headers"], json={}).json()
    user["scan"], user["plan"] = scan, plan
    return user


def test_new_session_gets_a_title_and_cites_my_scores(client: TestClient, user_with_plan: dict) -> None:
    turn = send(client, user_with_plan, "What are my scores? Which is the worst one")
    scores = user_with_plan["scan"]["scores"]
    answer = turn["assistant_message"]["content"]
    assert f"{scores['overall']:.0f}" in answer
    worst = sorted((m for m in METRICS if m in scores), key=lambda m: scores[m])[0]
    assert worst.replace("_", " ") in answer
    assert turn["assistant_message"]["context_refs"]["scan_id"] == user_with_plan["scan"]["scan_id"]
    sessions = client.get(f"{CHAT}/sessions", headers=user_with_plan["headers"]).json()["items"]
    assert sessions[0]["session_id"] == turn["session_id"]
    assert sessions[0]["title"] == "What are my scores? Which is the worst one"
    assert sessions[0]["message_count"] == 2


def test_todays_routine_comes_from_my_plan(client: TestClient, user_with_plan: dict) -> None:
    answer = send(client, user_with_plan, "What should I use this morning?")["assistant_message"]["content"]
    am = user_with_plan["plan"]["today"]["am"]
    assert f"Week {user_with_plan['plan']['current_week']}" in answer
    assert am[-1]["product_type"] in answer
    for slug in am[-1]["key_ingredients"]:
        assert slug in answer


def test_conversation_keeps_context_across_turns(client: TestClient, user_with_plan: dict) -> None:
    first = send(client, user_with_plan, "How are my scores?")
    follow_up = send(client, user_with_plan, "and pores?", first["session_id"])
    pores = user_with_plan["scan"]["scores"]["pores"]
    assert f"pores: {pores:.0f}" in follow_up["assistant_message"]["content"]
    third = send(client, user_with_plan, "Can I use retinol with glycolic acid?", first["session_id"])
    assert "glycolic" in third["assistant_message"]["content"].lower()
    messages = client.get(
        f"{CHAT}/sessions/{first['session_id']}/messages", headers=user_with_plan["headers"]
    ).json()
    assert [m["role"] for m in messages["items"]] == ["user", "assistant"] * 3
    assert messages["items"][2]["content"] == "and pores?"


def test_interaction_answer_uses_conflict_rules(client: TestClient, user_with_plan: dict) -> None:
    answer = send(client, user_with_plan, "Can I use tretinoin together with benzoyl peroxide?")[
        "assistant_message"
    ]
    assert answer["intent"] == "interaction"
    assert "AVOID" in answer["content"] or "CAUTION" in answer["content"]
    assert "benzoyl" in answer["content"].lower()


def test_off_topic_questions_get_an_honest_no(client: TestClient, user: dict) -> None:
    # Changed with issue 14: off-topic questions now say "I can't help with that" (was "not sure").
    for question in ("Which stock should I buy tomorrow?", "recommend a movie for tonight"):
        turn = send(client, user, question)["assistant_message"]
        assert turn["intent"] == "off_topic"
        assert "can't help with that" in turn["content"]
        assert "Evening" not in turn["content"]


def test_unknown_skin_questions_are_admitted(client: TestClient, user: dict) -> None:
    answer = send(client, user, "is microneedling worth it")["assistant_message"]["content"]
    assert "not sure" in answer.lower()


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("I have a mole that started bleeding and changing shape", "dermatologist"),
        ("The redness on my cheek is spreading and I have a fever", "urgent care"),
        ("My eyes are swollen after the new serum", "urgent care"),
        ("Severe burning and blistering after the acid toner", "dermatologist"),
        ("I hate my skin so much, I want to die", "988"),
    ],
)
def test_red_flags_always_get_safety_advice(
    client: TestClient, user: dict, message: str, expected: str
) -> None:
    turn = send(client, user, message)
    answer = turn["assistant_message"]["content"]
    assert answer.startswith("**Please read this first.**")
    assert expected in answer
    assert turn["assistant_message"]["safety_flags"]
    assert "not medical advice" in answer


def _events(raw: str) -> list[tuple[str, dict]]:
    events = []
    for block in raw.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_streaming_stores_exactly_what_it_streamed(client: TestClient, user_with_plan: dict) -> None:
    response = client.post(
        f"{CHAT}/messages/stream",
        headers=user_with_plan["headers"],
        json={"content": "my skin burns badly, severe pain, what are my scores?"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response.text)
    assert events[0][0] == "start"
    assert events[-1][0] == "done"
    deltas = [data["text"] for name, data in events if name == "delta"]
    assert len(deltas) > 5, "the answer should arrive in pieces"
    streamed = "".join(deltas)
    done = events[-1][1]
    assert done["assistant_message"]["content"] == streamed
    assert streamed.startswith("**Please read this first.**")
    stored = client.get(
        f"{CHAT}/sessions/{done['session_id']}/messages", headers=user_with_plan["headers"]
    ).json()["items"]
    assert stored[-1]["content"] == streamed
    assert stored[-1]["interrupted"] is False


def test_long_session_pages_in_order(client: TestClient, user: dict) -> None:
    session_id = send(client, user, "hello")["session_id"]
    for index in range(4):
        send(client, user, f"question number {index} about sunscreen", session_id)
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(
            f"{CHAT}/sessions/{session_id}/messages", headers=user["headers"], params=params
        ).json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 10
    assert [m["created_at"] for m in seen] == sorted(m["created_at"] for m in seen)
    assert [m["message_id"] for m in seen] == sorted(m["message_id"] for m in seen)
    assert [m["content"] for m in seen if m["role"] == "user"][1:] == [
        f"question number {i} about sunscreen" for i in range(4)
    ]


def test_sessions_ordered_by_latest_activity(client: TestClient, user: dict) -> None:
    older = send(client, user, "first topic")["session_id"]
    newer = send(client, user, "second topic")["session_id"]
    send(client, user, "back to the first", older)
    ids = [s["session_id"] for s in client.get(f"{CHAT}/sessions", headers=user["headers"]).json()["items"]]
    assert ids == [older, newer]


def test_other_users_session_is_404_and_delete(client: TestClient, register, user: dict) -> None:
    session_id = send(client, user, "hello")["session_id"]
    intruder = register()
    assert (
        client.get(f"{CHAT}/sessions/{session_id}/messages", headers=intruder["headers"]).status_code == 404
    )
    assert client.delete(f"{CHAT}/sessions/{session_id}", headers=intruder["headers"]).status_code == 404
    response = client.post(
        f"{CHAT}/messages", headers=intruder["headers"], json={"content": "hi", "session_id": session_id}
    )
    assert response.status_code == 404
    assert client.delete(f"{CHAT}/sessions/{session_id}", headers=user["headers"]).status_code == 204
    assert client.get(f"{CHAT}/sessions/{session_id}/messages", headers=user["headers"]).status_code == 404
    assert client.get(f"{CHAT}/sessions", headers=user["headers"]).json()["items"] == []


def test_a_message_to_a_deleted_or_unknown_session_is_404(client: TestClient, user: dict) -> None:
    session_id = send(client, user, "hello")["session_id"]
    assert client.delete(f"{CHAT}/sessions/{session_id}", headers=user["headers"]).status_code == 204
    for target in (session_id, "01ARZ3NDEKTSV4RRFFQ69G5FAV"):
        response = client.post(
            f"{CHAT}/messages",
            headers=user["headers"],
            json={"content": "still there?", "session_id": target},
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "session_not_found"
    assert client.get(f"{CHAT}/sessions", headers=user["headers"]).json()["items"] == [], "nothing recreated"


@pytest.mark.parametrize("content", ["", "   ", "x" * 2001])
def test_empty_or_oversized_message_is_422(client: TestClient, user: dict, content: str) -> None:
    assert (
        client.post(f"{CHAT}/messages", headers=user["headers"], json={"content": content}).status_code == 422
    )


def test_rate_limit_gives_429_with_retry_after(client: TestClient, user: dict, settings) -> None:
    for _ in range(settings.chat_messages_per_minute):
        client.post(f"{CHAT}/messages", headers=user["headers"], json={"content": "hi"})
    response = client.post(f"{CHAT}/messages", headers=user["headers"], json={"content": "hi"})
    if response.status_code == 201:  # the minute rolled over mid-test; the next window must still limit
        for _ in range(settings.chat_messages_per_minute):
            response = client.post(f"{CHAT}/messages", headers=user["headers"], json={"content": "hi"})
    assert response.status_code == 429
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.json()["error"]["code"] == "chat_messages_rate_limited"


# ---- issue 14: understanding the question, over HTTP against DynamoDB Local ----


def test_i_am_pregnant_is_not_a_morning_question(client: TestClient, user_with_plan: dict) -> None:
    answer = send(client, user_with_plan, "I am pregnant, is adapalene safe?")["assistant_message"]
    assert answer["intent"] == "pregnancy_safety"
    assert answer["content"].startswith("No: Adapalene is a retinoid")
    assert "Morning:" not in answer["content"]


def test_pregnant_profile_gets_a_no_for_retinol_tonight(client: TestClient, register) -> None:
    user = register()
    profile = {"pregnant_or_breastfeeding": True}
    assert client.patch("/api/v1/auth/me", headers=user["headers"], json=profile).status_code == 200
    answer = send(client, user, "can i use my retinol serum tonight?")["assistant_message"]
    assert answer["content"].startswith("No: Retinol is a retinoid")
    assert "Evening" not in answer["content"]


def test_follow_up_it_is_resolved_from_the_session(client: TestClient, user_with_plan: dict) -> None:
    first = send(client, user_with_plan, "my skin is peeling from adapalene")
    follow = send(client, user_with_plan, "should i stop using it?", first["session_id"])["assistant_message"]
    assert follow["intent"] == "side_effects"
    assert "Adapalene" in follow["content"]
    assert "fewer nights" in follow["content"]


def test_plan_change_answers_with_the_lock(client: TestClient, user_with_plan: dict) -> None:
    answer = send(client, user_with_plan, "can i change my plan")["assistant_message"]["content"]
    days = user_with_plan["plan"]["days_remaining"]
    assert f"locked for {days} more day(s)" in answer
    assert "adverse reaction" in answer
    assert "points" not in answer


def test_best_area_and_latest_scan_date_come_from_my_scan(client: TestClient, user_with_plan: dict) -> None:
    scores = user_with_plan["scan"]["scores"]
    best = max((m for m in METRICS if m in scores), key=lambda m: scores[m])
    answer = send(client, user_with_plan, "which part of my skin is doing best")["assistant_message"][
        "content"
    ]
    assert f"{best.replace('_', ' ')}: {scores[best]:.0f}" in answer
    assert "lowest scores" not in answer
    assert "By face area, your" in answer
    assert "is doing best" in answer
    answer = send(client, user_with_plan, "when was my last scan")["assistant_message"]["content"]
    assert user_with_plan["scan"]["scan_date"][:10] in answer


@pytest.mark.parametrize(
    "message",
    [
        "my face is swollen and hot after a new cream",
        "hives all over my body",
        "a sore on my nose that hasn't healed in 2 months and bleeds",
        "painful deep cysts that leave scars",
    ],
)
def test_missed_red_flags_from_the_issue_are_caught(client: TestClient, user: dict, message: str) -> None:
    answer = send(client, user, message)["assistant_message"]
    assert answer["provider"] == "safety"
    assert answer["content"].startswith("**Please read this first.**")
    assert "dermatologist" in answer["content"] or "urgent care" in answer["content"]


def test_ordinary_dryness_is_not_a_red_flag(client: TestClient, user: dict) -> None:
    answer = send(client, user, "my skin is so dry and flaky around my nose")["assistant_message"]
    assert answer["safety_flags"] == []
    assert "Please read this first" not in answer["content"]
