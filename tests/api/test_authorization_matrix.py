"""Every endpoint, two questions: does it demand a valid token, and does it hide other users' objects?

The route list comes from the app itself, so an endpoint added later is covered automatically.
"""

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD
from tests.helpers import send, today, upload_scan, wait_for
from tests.images import face_jpeg

PUBLIC = {
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/verify-email/confirm"),
    ("POST", "/api/v1/auth/password-reset/request"),
    ("POST", "/api/v1/auth/password-reset/confirm"),
    ("GET", "/health"),
    ("GET", "/health/ready"),
    # The dermatologist's link: its signed token, checked against the consultation (tests/consultations).
    ("GET", "/api/v1/consultations/reports/{token}"),
}
# Signed-URL routes authenticate by their token, not by a bearer token (tested in test_scans).
SIGNED_URL_PREFIX = "/api/v1/storage/"


def protected_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every documented operation but the public ones (signed-URL routes are not in the schema)."""
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    return sorted(
        (method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if (method.upper(), path) not in PUBLIC and not path.startswith(SIGNED_URL_PREFIX)
    )


@pytest.fixture(scope="module")
def owner(client: TestClient) -> dict[str, Any]:
    """A user owning one of every kind of object."""
    from tests.conftest import unique_email

    email = unique_email()
    body = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD}).json()
    user = {"email": email, "headers": {"Authorization": f"Bearer {body['tokens']['access_token']}"}, **body}
    scan = wait_for(client, user["headers"], upload_scan(client, user["headers"], face_jpeg())["scan_id"])
    plan = client.post("/api/v1/plans", headers=user["headers"], json={}).json()
    chat = send(client, user, "hello")
    device = client.post(
        "/api/v1/notifications/devices", headers=user["headers"], json={"platform": "ios", "token": "t" * 64}
    ).json()
    skin_log = client.post(
        "/api/v1/skin-logs", headers=user["headers"], json={"date": today(), "dryness": 42}
    ).json()
    entry = client.post("/api/v1/journal", headers=user["headers"], json={"date": today()}).json()
    period = client.post(
        "/api/v1/cycle/periods", headers=user["headers"], json={"start_date": today()}
    ).json()
    consultation = client.post(
        "/api/v1/consultations",
        headers=user["headers"],
        json={"dermatologist_id": "amara-okafor-london", "reason": "A rash", "scan_ids": [scan["scan_id"]]},
    ).json()
    user["ids"] = {
        "log_id": skin_log["log_id"],
        "entry_id": entry["entry_id"],
        "period_id": period["period_id"],
        "scan_id": scan["scan_id"],
        "plan_id": plan["plan_id"],
        "session_id": chat["session_id"],
        "consultation_id": consultation["consultation_id"],
        "slug": "niacinamide",
        "notification_id": first_notification(client, user["headers"]),
        "device_id": device["device_id"],
    }
    return user


def first_notification(client: TestClient, headers: dict) -> str:
    """The owner's scan notification (made by the worker right after the result is recorded)."""
    for _ in range(200):
        items = client.get("/api/v1/notifications", headers=headers).json()["items"]
        if items:
            return str(items[0]["notification_id"])
        time.sleep(0.05)
    raise AssertionError("the scan made no notification")


def fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)


def sample_body(method: str, path: str) -> dict[str, Any] | None:
    bodies = {
        "/api/v1/plans/{plan_id}": {"status": "abandoned"},
        "/api/v1/plans/{plan_id}/checkins": {"date": today(), "am_done": True, "pm_done": True},
        "/api/v1/chat/messages": {"content": "hi"},
        "/api/v1/chat/messages/stream": {"content": "hi"},
        "/api/v1/auth/me": {"full_name": "X"} if method == "PATCH" else {"password": PASSWORD},
        "/api/v1/auth/change-password": {"current_password": PASSWORD, "new_password": "another long one"},
        "/api/v1/ingredients/check": {"ingredients": ["retinol"]},
        "/api/v1/scans": {},
        "/api/v1/plans": {},
        "/api/v1/users/me/preferences": {"units": "metric"},
        "/api/v1/notifications/devices": {"platform": "ios", "token": "t" * 64},
        "/api/v1/skin-logs": {"date": today(), "dryness": 10},
        "/api/v1/skin-logs/{log_id}": {"dryness": 99},
        "/api/v1/journal": {"date": today()},
        "/api/v1/journal/{entry_id}": {"mood": "sad"},
        "/api/v1/cycle/periods": {"start_date": today()},
        "/api/v1/cycle/periods/{period_id}": {"flow": "heavy"},
        "/api/v1/consultations/{consultation_id}/rate": {"rating": 1},
        "/api/v1/consultations": {
            "dermatologist_id": "amara-okafor-london",
            "reason": "A rash",
            "scan_ids": ["01ARZ3NDEKTSV4RRFFQ69G5FAV"],
        },
    }
    return bodies.get(path) if method in {"POST", "PATCH", "PUT", "DELETE"} else None


def bad_tokens(settings, owner: dict) -> dict[str, str]:
    access = owner["tokens"]["access_token"]
    claims = jwt.decode(access, settings.secret_key, algorithms=["HS256"])
    past = datetime.now(UTC) - timedelta(hours=1)
    return {
        "missing": "",
        "tampered": access[:-2] + ("xx" if not access.endswith("xx") else "yy"),
        "expired": jwt.encode(
            {**claims, "exp": int(past.timestamp()), "iat": int(past.timestamp()) - 60},
            settings.secret_key,
            algorithm="HS256",
        ),
        "refresh as access": owner["tokens"]["refresh_token"],
        "unknown user": jwt.encode(
            {**claims, "sub": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}, settings.secret_key, algorithm="HS256"
        ),
    }


def test_every_protected_endpoint_rejects_bad_tokens(client: TestClient, settings, owner: dict) -> None:
    routes = protected_routes(client)
    assert len(routes) >= 25, routes
    for name, token in bad_tokens(settings, owner).items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for method, path in routes:
            url = fill(path, owner["ids"])
            response = client.request(method, url, headers=headers, json=sample_body(method, path))
            assert response.status_code == 401, (name, method, path, response.status_code)
            assert response.json()["error"]["code"] in {"not_authenticated", "invalid_token", "token_expired"}


def test_other_users_objects_answer_404_and_stay_unchanged(client: TestClient, register, owner: dict) -> None:
    intruder = register()
    with_ids = [
        (m, p)
        for m, p in protected_routes(client)
        if re.search(r"\{(scan_id|plan_id|session_id|notification_id|device_id)\}", p)
        if re.search(r"\{(scan_id|plan_id|session_id|log_id)\}", p)
        if re.search(r"\{(scan_id|plan_id|session_id|entry_id|period_id)\}", p)
        if re.search(r"\{(scan_id|plan_id|session_id|consultation_id)\}", p)
    ]
    assert len(with_ids) >= 10, with_ids
    for method, path in with_ids:
        response = client.request(
            method, fill(path, owner["ids"]), headers=intruder["headers"], json=sample_body(method, path)
        )
        assert response.status_code == 404, (method, path, response.status_code, response.text)
    # Nothing changed for the owner.
    ids = owner["ids"]
    assert (
        client.get(f"/api/v1/scans/{ids['scan_id']}", headers=owner["headers"]).json()["status"]
        == "completed"
    )
    plan = client.get(f"/api/v1/plans/{ids['plan_id']}", headers=owner["headers"]).json()
    assert plan["status"] == "active"
    assert plan["routine"]
    messages = client.get(
        f"/api/v1/chat/sessions/{ids['session_id']}/messages", headers=owner["headers"]
    ).json()
    assert len(messages["items"]) == 2
    feed = client.get("/api/v1/notifications", headers=owner["headers"]).json()["items"]
    assert [
        (n["notification_id"], n["read"]) for n in feed if n["notification_id"] == ids["notification_id"]
    ] == [(ids["notification_id"], False)]
    devices = client.get("/api/v1/notifications/devices", headers=owner["headers"]).json()["items"]
    assert [d["device_id"] for d in devices] == [ids["device_id"]]
    skin_log = client.get(f"/api/v1/skin-logs/{ids['log_id']}", headers=owner["headers"]).json()
    assert skin_log["dryness"] == 42
    entry = client.get(f"/api/v1/journal/{ids['entry_id']}", headers=owner["headers"]).json()
    assert entry["mood"] is None
    period = client.get(f"/api/v1/cycle/periods/{ids['period_id']}", headers=owner["headers"]).json()
    assert period["flow"] == "medium"
    consultation = client.get(
        f"/api/v1/consultations/{ids['consultation_id']}", headers=owner["headers"]
    ).json()
    assert consultation["status"] == "sent"
    assert consultation["rating"] is None


def test_deleted_users_token_is_401_everywhere(client: TestClient, register) -> None:
    user = register()
    assert (
        client.request(
            "DELETE", "/api/v1/auth/me", headers=user["headers"], json={"password": PASSWORD}
        ).status_code
        == 204
    )
    ids = {
        "scan_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "plan_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "session_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "log_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "entry_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "period_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "consultation_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "slug": "niacinamide",
        "notification_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "device_id": "0" * 26,
    }
    for method, path in protected_routes(client):
        response = client.request(
            method, fill(path, ids), headers=user["headers"], json=sample_body(method, path)
        )
        assert response.status_code == 401, (method, path)
