"""Auth endpoints end to end over HTTP against DynamoDB Local."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, unique_email

AUTH = "/api/v1/auth"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_register_returns_user_and_tokens_with_normalised_email(client: TestClient) -> None:
    email = unique_email()
    response = client.post(
        f"{AUTH}/register",
        json={"email": f"  {email.upper()} ", "password": PASSWORD, "full_name": "Ada", "skin_type": "oily"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["user"]["email"] == email
    assert body["user"]["skin_type"] == "oily"
    assert "password_hash" not in body["user"]
    assert body["tokens"]["token_type"] == "bearer"
    assert body["tokens"]["expires_in"] == 15 * 60
    me = client.get(f"{AUTH}/me", headers=bearer(body["tokens"]["access_token"]))
    assert me.status_code == 200
    assert me.json()["user_id"] == body["user"]["user_id"]


def test_register_same_email_in_other_case_is_409(client: TestClient) -> None:
    email = unique_email()
    assert client.post(f"{AUTH}/register", json={"email": email, "password": PASSWORD}).status_code == 201
    again = client.post(f"{AUTH}/register", json={"email": email.upper(), "password": PASSWORD})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "email_taken"


def test_concurrent_registrations_with_one_email_create_one_account(client: TestClient) -> None:
    email = unique_email()

    def attempt(_: int) -> int:
        return client.post(f"{AUTH}/register", json={"email": email, "password": PASSWORD}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(attempt, range(8)))
    assert statuses.count(201) == 1
    assert statuses.count(409) == 7
    login = client.post(f"{AUTH}/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"password": PASSWORD}, "body.email"),
        ({"email": "not-an-email", "password": PASSWORD}, "body.email"),
        ({"email": "a@example.com", "password": "short"}, "body.password"),
        ({"email": "a@example.com", "password": "x" * 129}, "body.password"),
        ({"email": "a@example.com", "password": 12345678}, "body.password"),
        ({"email": "a@example.com", "password": PASSWORD, "full_name": "x" * 500}, "body.full_name"),
        ({"email": "a@example.com", "password": PASSWORD, "skin_type": "plastic"}, "body.skin_type"),
        ({"email": "a@example.com", "password": PASSWORD, "is_admin": True}, "body.is_admin"),
    ],
)
def test_register_rejects_bad_input_with_the_field_named(
    client: TestClient, payload: dict, field: str
) -> None:
    response = client.post(f"{AUTH}/register", json=payload)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in [d["field"] for d in error["details"]]
    assert PASSWORD not in response.text


def test_malformed_json_is_400_in_the_envelope(client: TestClient) -> None:
    response = client.post(
        f"{AUTH}/login",
        content=b'{"email": "a@b.c", "password":',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_login_wrong_password_and_unknown_email_look_the_same(client: TestClient, user: dict) -> None:
    wrong_password = client.post(f"{AUTH}/login", json={"email": user["email"], "password": "wrong password"})
    unknown = client.post(f"{AUTH}/login", json={"email": unique_email(), "password": PASSWORD})
    assert wrong_password.status_code == unknown.status_code == 401
    assert wrong_password.json() == unknown.json()


def test_login_is_case_insensitive_on_email(client: TestClient, user: dict) -> None:
    response = client.post(f"{AUTH}/login", json={"email": user["email"].upper(), "password": PASSWORD})
    assert response.status_code == 200
    assert set(response.json()) == {"access_token", "refresh_token", "token_type", "expires_in"}


def test_oauth2_token_form_works_for_swagger(client: TestClient, user: dict) -> None:
    response = client.post(f"{AUTH}/token", data={"username": user["email"], "password": PASSWORD})
    assert response.status_code == 200
    me = client.get(f"{AUTH}/me", headers=bearer(response.json()["access_token"]))
    assert me.json()["email"] == user["email"]


def test_refresh_rotates_and_reuse_revokes_the_family(client: TestClient, user: dict) -> None:
    first = user["tokens"]["refresh_token"]
    rotated = client.post(f"{AUTH}/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first
    newest = client.post(f"{AUTH}/refresh", json={"refresh_token": second})
    assert newest.status_code == 200
    # `first` is two rotations old: no retry grace applies (tests/auth/test_sign_in_hardening.py
    # covers the grace window for the token rotated just now).
    reused = client.post(f"{AUTH}/refresh", json={"refresh_token": first})
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "refresh_token_reused"
    # The whole family is gone: the newest refresh token and its access token stop working.
    assert (
        client.post(f"{AUTH}/refresh", json={"refresh_token": newest.json()["refresh_token"]}).status_code
        == 401
    )
    assert client.get(f"{AUTH}/me", headers=bearer(newest.json()["access_token"])).status_code == 401


def test_logout_ends_only_that_session(client: TestClient, user: dict) -> None:
    other = client.post(f"{AUTH}/login", json={"email": user["email"], "password": PASSWORD}).json()
    response = client.post(f"{AUTH}/logout", json={"refresh_token": user["tokens"]["refresh_token"]})
    assert response.status_code == 204
    assert client.get(f"{AUTH}/me", headers=user["headers"]).status_code == 401
    assert (
        client.post(f"{AUTH}/refresh", json={"refresh_token": user["tokens"]["refresh_token"]}).status_code
        == 401
    )
    assert client.get(f"{AUTH}/me", headers=bearer(other["access_token"])).status_code == 200


def test_patch_me_changes_only_sent_fields(client: TestClient, register) -> None:
    user = register(full_name="Before", skin_type="dry")
    response = client.patch(
        f"{AUTH}/me",
        headers=user["headers"],
        json={
            "full_name": "After",
            "concerns": ["acne", "redness"],
            "sensitivities": ["Fragrance"],
            "pregnant_or_breastfeeding": True,
            "birth_year": 1990,
            "timezone": "Europe/Paris",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["full_name"] == "After"
    assert body["skin_type"] == "dry"
    assert body["concerns"] == ["acne", "redness"]
    assert body["sensitivities"] == ["fragrance"]
    assert body["pregnant_or_breastfeeding"] is True
    assert client.get(f"{AUTH}/me", headers=user["headers"]).json()["timezone"] == "Europe/Paris"


@pytest.mark.parametrize(
    "payload",
    [
        {"timezone": "Mars/Olympus"},
        {"birth_year": 1800},
        {"concerns": ["glow"]},
        {"email": "new@example.com"},
        {"sensitivities": ["x"] * 31},
        {"pregnant_or_breastfeeding": "perhaps"},
    ],
)
def test_patch_me_rejects_bad_input(client: TestClient, user: dict, payload: dict) -> None:
    response = client.patch(f"{AUTH}/me", headers=user["headers"], json=payload)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_change_password_revokes_other_sessions(client: TestClient, user: dict) -> None:
    other = client.post(f"{AUTH}/login", json={"email": user["email"], "password": PASSWORD}).json()
    response = client.post(
        f"{AUTH}/change-password",
        headers=user["headers"],
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
    )
    assert response.status_code == 204
    assert client.get(f"{AUTH}/me", headers=user["headers"]).status_code == 200
    assert client.get(f"{AUTH}/me", headers=bearer(other["access_token"])).status_code == 401
    assert (
        client.post(f"{AUTH}/login", json={"email": user["email"], "password": PASSWORD}).status_code == 401
    )
    assert (
        client.post(
            f"{AUTH}/login", json={"email": user["email"], "password": "a brand new passphrase"}
        ).status_code
        == 200
    )


def test_change_password_with_wrong_current_password_is_401(client: TestClient, user: dict) -> None:
    response = client.post(
        f"{AUTH}/change-password",
        headers=user["headers"],
        json={"current_password": "not it at all", "new_password": "a brand new passphrase"},
    )
    assert response.status_code == 401
    assert client.get(f"{AUTH}/me", headers=user["headers"]).status_code == 200


def _forge(settings, claims: dict, key: str | None = None) -> str:
    return jwt.encode(claims, key or settings.secret_key, algorithm="HS256")


def test_tampered_expired_and_wrong_type_tokens_are_401(client: TestClient, settings, user: dict) -> None:
    access = user["tokens"]["access_token"]
    payload = jwt.decode(access, settings.secret_key, algorithms=["HS256"])
    now = datetime.now(UTC)
    cases = {
        "tampered": access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB"),
        "wrong key": _forge(settings, payload, key="another-secret-key-of-sufficient-length"),
        "expired": _forge(
            settings,
            {
                **payload,
                "iat": int((now - timedelta(hours=2)).timestamp()),
                "exp": int((now - timedelta(hours=1)).timestamp()),
            },
        ),
        "refresh as access": user["tokens"]["refresh_token"],
        "alg none": jwt.encode(payload, None, algorithm="none"),
        "garbage": "not.a.jwt",
    }
    for name, token in cases.items():
        response = client.get(f"{AUTH}/me", headers=bearer(token))
        assert response.status_code == 401, name
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["code"] in {"invalid_token", "token_expired"}, name
    assert client.get(f"{AUTH}/me").status_code == 401


def test_access_token_is_refused_by_refresh(client: TestClient, user: dict) -> None:
    response = client.post(f"{AUTH}/refresh", json={"refresh_token": user["tokens"]["access_token"]})
    assert response.status_code == 401


JSON_ENDPOINTS = {
    "/register": {"email": "someone@example.com", "password": PASSWORD},
    "/login": {"email": "someone@example.com", "password": PASSWORD},
    "/refresh": {"refresh_token": "x" * 20},
    "/logout": {"refresh_token": "x" * 20},
    "/change-password": {"current_password": PASSWORD, "new_password": "another passphrase"},
    "/password-reset/request": {"email": "someone@example.com"},
    "/password-reset/confirm": {"token": "x" * 20, "new_password": "another passphrase"},
    "/verify-email/confirm": {"token": "x" * 20},
}


@pytest.mark.parametrize("path", sorted(JSON_ENDPOINTS))
def test_every_json_auth_endpoint_refuses_bad_bodies(client: TestClient, user: dict, path: str) -> None:
    valid = JSON_ENDPOINTS[path]
    field = next(iter(valid))
    cases = {
        "malformed": (b'{"' + field.encode() + b'": ', 400),
        "missing field": ({k: v for k, v in valid.items() if k != field}, 422),
        "wrong type": ({**valid, field: ["not", "a", "string"]}, 422),
        "oversized": ({**valid, field: "x" * 5000}, 422),
        "not an object": ([valid], 422),
    }
    for name, (body, status) in cases.items():
        if isinstance(body, bytes):
            response = client.post(
                f"{AUTH}{path}", headers={**user["headers"], "Content-Type": "application/json"}, content=body
            )
        else:
            response = client.post(f"{AUTH}{path}", headers=user["headers"], json=body)
        assert response.status_code == status, (path, name, response.text)
        assert "error" in response.json()
        assert "Traceback" not in response.text
