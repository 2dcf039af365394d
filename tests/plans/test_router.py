"""Plans over HTTP: generation from a real scan, the lock, transitions, check-ins."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers import today, upload_scan, wait_for
from tests.images import face_jpeg, no_face_jpeg

PLANS = "/api/v1/plans"


@pytest.fixture
def scanned_user(client: TestClient, register) -> dict[str, Any]:
    """A user with one completed scan."""
    user = register(skin_type="oily", primary_concern="acne")
    scan = wait_for(client, user["headers"], upload_scan(client, user["headers"], face_jpeg())["scan_id"])
    assert scan["status"] == "completed"
    user["scan"] = scan
    return user


def test_plan_needs_a_completed_scan(client: TestClient, user: dict) -> None:
    response = client.post(PLANS, headers=user["headers"], json={})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_completed_scan"
    failed = wait_for(
        client, user["headers"], upload_scan(client, user["headers"], no_face_jpeg())["scan_id"]
    )
    response = client.post(PLANS, headers=user["headers"], json={"scan_id": failed["scan_id"]})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "scan_not_completed"


def test_create_plan_from_latest_scan(client: TestClient, scanned_user: dict) -> None:
    response = client.post(PLANS, headers=scanned_user["headers"], json={})
    assert response.status_code == 201, response.text
    plan = response.json()
    assert plan["status"] == "active"
    assert plan["baseline_scan_id"] == scanned_user["scan"]["scan_id"]
    assert plan["baseline_scores"] == scanned_user["scan"]["scores"]
    assert plan["is_locked"] is True
    assert plan["days_elapsed"] == 0
    assert plan["days_remaining"] == 28
    assert plan["current_week"] == 1
    assert plan["routine"]["am"][-1]["category"] == "sunscreen"
    assert plan["today"]["am"]
    assert plan["today"]["pm"]
    active = client.get(f"{PLANS}/active", headers=scanned_user["headers"]).json()
    assert active["plan_id"] == plan["plan_id"]


def test_locked_plan_refuses_a_new_one_unless_adverse_reaction(
    client: TestClient, scanned_user: dict
) -> None:
    first = client.post(PLANS, headers=scanned_user["headers"], json={}).json()
    again = client.post(PLANS, headers=scanned_user["headers"], json={})
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "plan_locked"
    assert error["details"]["days_remaining"] == 28
    override = client.post(
        PLANS, headers=scanned_user["headers"], json={"override_reason": "adverse_reaction"}
    )
    assert override.status_code == 201
    second = override.json()
    assert second["override_reason"] == "adverse_reaction"
    assert second["replaces_plan_id"] == first["plan_id"]
    old = client.get(f"{PLANS}/{first['plan_id']}", headers=scanned_user["headers"]).json()
    assert old["status"] == "replaced"
    assert old["override_reason"] == "adverse_reaction"
    assert old["replaced_by_plan_id"] == second["plan_id"]
    history = client.get(PLANS, headers=scanned_user["headers"]).json()["items"]
    assert [p["plan_id"] for p in history] == [second["plan_id"], first["plan_id"]]


def test_bad_override_reason_is_422(client: TestClient, scanned_user: dict) -> None:
    response = client.post(PLANS, headers=scanned_user["headers"], json={"override_reason": "bored"})
    assert response.status_code == 422


def test_concurrent_plan_creation_creates_exactly_one(client: TestClient, scanned_user: dict) -> None:
    def attempt(_: int) -> int:
        return client.post(PLANS, headers=scanned_user["headers"], json={}).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(attempt, range(6)))
    assert statuses.count(201) == 1, statuses
    assert statuses.count(409) == 5
    assert len(client.get(PLANS, headers=scanned_user["headers"]).json()["items"]) == 1


def test_status_transitions(client: TestClient, scanned_user: dict) -> None:
    plan_id = client.post(PLANS, headers=scanned_user["headers"], json={}).json()["plan_id"]
    url = f"{PLANS}/{plan_id}"
    headers = scanned_user["headers"]
    assert client.patch(url, headers=headers, json={"status": "paused"}).json()["status"] == "paused"
    assert client.patch(url, headers=headers, json={"status": "active"}).json()["status"] == "active"
    done = client.patch(url, headers=headers, json={"status": "completed"})
    assert done.json()["status"] == "completed"
    assert done.json()["ended_at"]
    back = client.patch(url, headers=headers, json={"status": "active"})
    assert back.status_code == 409
    assert back.json()["error"]["code"] == "invalid_status_transition"
    assert client.get(f"{PLANS}/active", headers=headers).json()["error"]["code"] == "no_active_plan"
    # The lock outlives an ended plan: ending a plan is no way around it.
    assert client.post(PLANS, headers=headers, json={}).json()["error"]["code"] == "plan_locked"
    assert client.patch(url, headers=headers, json={"status": "deleted"}).status_code == 422


def test_checkins_replace_per_day_and_adherence(client: TestClient, scanned_user: dict) -> None:
    headers = scanned_user["headers"]
    plan_id = client.post(PLANS, headers=headers, json={}).json()["plan_id"]
    url = f"{PLANS}/{plan_id}/checkins"
    first = client.post(url, headers=headers, json={"date": today(), "am_done": True, "pm_done": False})
    assert first.status_code == 201
    assert first.json()["advice"] is None
    second = client.post(url, headers=headers, json={"date": today(), "am_done": True, "pm_done": True})
    assert second.status_code == 201
    adherence = client.get(f"{PLANS}/{plan_id}/adherence", headers=headers).json()
    assert adherence["checkins"] == 1
    assert adherence["am_percent"] == 100.0
    assert adherence["pm_percent"] == 100.0
    assert adherence["streak_days"] == 1
    future = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
    assert (
        client.post(url, headers=headers, json={"date": future, "am_done": True, "pm_done": True}).status_code
        == 422
    )
    assert (
        client.post(
            url, headers=headers, json={"date": "yesterday", "am_done": True, "pm_done": True}
        ).status_code
        == 422
    )


def test_severe_reaction_warns_and_suggests_a_dermatologist(client: TestClient, scanned_user: dict) -> None:
    headers = scanned_user["headers"]
    plan_id = client.post(PLANS, headers=headers, json={}).json()["plan_id"]
    response = client.post(
        f"{PLANS}/{plan_id}/checkins",
        headers=headers,
        json={
            "date": today(),
            "am_done": True,
            "pm_done": False,
            "reaction": {"severity": "severe", "description": "burning"},
        },
    )
    assert response.status_code == 201
    assert "dermatologist" in response.json()["advice"]
    plan = client.get(f"{PLANS}/{plan_id}", headers=headers).json()
    assert any("dermatologist" in w for w in plan["warnings"])
    adherence = client.get(f"{PLANS}/{plan_id}/adherence", headers=headers).json()
    assert adherence["severe_reaction_reported"] is True
    assert adherence["reactions"][0]["severity"] == "severe"


def test_another_users_plan_is_404(client: TestClient, register, scanned_user: dict) -> None:
    plan_id = client.post(PLANS, headers=scanned_user["headers"], json={}).json()["plan_id"]
    intruder = register()
    for method, path, body in [
        ("GET", f"{PLANS}/{plan_id}", None),
        ("PATCH", f"{PLANS}/{plan_id}", {"status": "abandoned"}),
        ("POST", f"{PLANS}/{plan_id}/checkins", {"date": today(), "am_done": True, "pm_done": True}),
        ("GET", f"{PLANS}/{plan_id}/adherence", None),
    ]:
        response = client.request(method, path, headers=intruder["headers"], json=body)
        assert response.status_code == 404, (method, path)
    assert client.get(f"{PLANS}/{plan_id}", headers=scanned_user["headers"]).json()["status"] == "active"
    other_scan = client.post(
        PLANS, headers=intruder["headers"], json={"scan_id": scanned_user["scan"]["scan_id"]}
    )
    assert other_scan.status_code == 404


def test_pregnant_user_plan_has_no_retinoid(client: TestClient, register) -> None:
    user = register(skin_type="normal", primary_concern="wrinkles")
    client.patch("/api/v1/auth/me", headers=user["headers"], json={"pregnant_or_breastfeeding": True})
    wait_for(client, user["headers"], upload_scan(client, user["headers"], face_jpeg())["scan_id"])
    plan = client.post(PLANS, headers=user["headers"], json={}).json()
    retinoids = {
        "tretinoin",
        "adapalene",
        "tazarotene",
        "retinal",
        "retinol",
        "hydroxypinacolone_retinoate",
        "retinyl_palmitate",
    }
    used = {s for step in plan["routine"]["am"] + plan["routine"]["pm"] for s in step["key_ingredients"]}
    used |= {s for nt in plan["routine"]["night_treatments"] for s in nt["step"]["key_ingredients"]}
    assert not used & retinoids


def test_scan_deltas_against_plan_baseline(client: TestClient, scanned_user: dict) -> None:
    headers = scanned_user["headers"]
    plan = client.post(PLANS, headers=headers, json={}).json()
    later = wait_for(client, headers, upload_scan(client, headers, face_jpeg())["scan_id"])
    baseline = later["deltas"]["baseline"]
    assert baseline["scan_id"] == plan["baseline_scan_id"]
    assert baseline["changes"]["overall"] == 0.0, "same photo → no change against the baseline"


def test_ingredient_search_and_conflict_check(client: TestClient, register) -> None:
    user = register()
    client.patch(
        "/api/v1/auth/me",
        headers=user["headers"],
        json={"pregnant_or_breastfeeding": True, "sensitivities": ["fragrance"]},
    )
    found = client.get(
        "/api/v1/ingredients", headers=user["headers"], params={"q": "retin", "limit": 3}
    ).json()
    assert found["items"]
    assert found["total"] >= 3
    assert all(
        "retin" in (i["slug"] + i["name"].lower() + " ".join(i["aliases"])) for i in found["items"][:2]
    )
    if found["next_cursor"]:
        page2 = client.get(
            "/api/v1/ingredients",
            headers=user["headers"],
            params={"q": "retin", "limit": 3, "cursor": found["next_cursor"]},
        ).json()
        assert {i["slug"] for i in page2["items"]}.isdisjoint({i["slug"] for i in found["items"]})
    assert (
        client.get("/api/v1/ingredients/niacinamide", headers=user["headers"]).json()["slug"] == "niacinamide"
    )
    assert client.get("/api/v1/ingredients/unobtainium", headers=user["headers"]).status_code == 404
    report = client.post(
        "/api/v1/ingredients/check",
        headers=user["headers"],
        json={
            "products": [
                {
                    "name": "Night serum",
                    "inci": "Aqua, Glycerin, Retinol, Tocopherol, Parfum (Fragrance), Linalool.",
                },
                {
                    "name": "Glow toner",
                    "inci": "Aqua, Glycolic Acid, Sodium Hydroxide, Aloe Barbadensis Leaf Juice, Moonbeam Extract",
                },
            ]
        },
    ).json()
    pairs = {(c["a"]["slug"], c["b"]["slug"]) for c in report["conflicts"]}
    assert ("retinol", "glycolic_acid") in pairs or ("glycolic_acid", "retinol") in pairs
    retinol_glycolic = next(
        c for c in report["conflicts"] if {c["a"]["slug"], c["b"]["slug"]} == {"retinol", "glycolic_acid"}
    )
    assert retinol_glycolic["severity"] in {"avoid", "caution"}
    assert retinol_glycolic["reason"]
    assert retinol_glycolic["fix"]
    kinds = {(c["kind"], c["slug"]) for c in report["cautions"]}
    assert ("pregnancy", "retinol") in kinds
    assert ("sensitivity", "parfum") in kinds
    assert any(u["name"].lower().startswith("moonbeam") for u in report["unknown"])
    assert client.post("/api/v1/ingredients/check", headers=user["headers"], json={}).status_code == 422
