"""Account lifecycle and attack resistance: deletion, export, verification, reset, lockout."""

import logging
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.errors import DependencyUnavailableError
from app.main import create_app
from tests.conftest import PASSWORD, make_settings, unique_email
from tests.helpers import fresh_ip, send, today, upload_scan, wait_for
from tests.images import face_jpeg

AUTH = "/api/v1/auth"


@pytest.fixture
def full_user(client: TestClient, register) -> dict[str, Any]:
    """A user with a scan, a plan with a check-in, and a chat session."""
    user = register(full_name="Dana Full")
    scan = wait_for(client, user["headers"], upload_scan(client, user["headers"], face_jpeg())["scan_id"])
    plan = client.post("/api/v1/plans", headers=user["headers"], json={}).json()
    client.post(
        f"/api/v1/plans/{plan['plan_id']}/checkins",
        headers=user["headers"],
        json={"date": today(), "am_done": True, "pm_done": True},
    )
    chat = send(client, user, "How are my scores?")
    user.update(scan=scan, plan=plan, chat=chat)
    return user


def _login(client: TestClient, email: str, password: str = PASSWORD) -> int:
    return client.post(f"{AUTH}/login", json={"email": email, "password": password}).status_code


def _remaining(container: Any, user_id: str) -> dict[str, int]:
    return {
        "scans": len(container.scans_repo.all_for_user(user_id=user_id)),
        "plans": len(container.plans_repo.all_for_user(user_id=user_id)),
        "chat": len(container.chat_repo.all_items(user_id=user_id)),
        "records": len(container.records.all_for(owner=user_id)),
        "user": int(container.users.get(user_id=user_id) is not None),
    }


def test_export_has_everything_but_secrets(client: TestClient, full_user: dict) -> None:
    response = client.get(f"{AUTH}/me/export", headers=full_user["headers"])
    assert response.status_code == 200
    data = response.json()
    assert data["profile"]["email"] == full_user["email"]
    assert "password_hash" not in response.text
    assert "current_jti" not in response.text
    (scan,) = data["scans"]
    assert scan["scores"] == full_user["scan"]["scores"]
    assert client.get(scan["image_urls"]["front"]).status_code == 200
    (plan,) = data["plans"]
    assert today() in plan["checkins"]
    assert len(data["chat"]["messages"]) == 2
    assert data["chat"]["sessions"][0]["title"] == "How are my scores?"


def test_delete_account_removes_everything(
    client: TestClient, container: Any, full_user: dict, caplog
) -> None:
    user_id = full_user["user"]["user_id"]
    image_url = full_user["scan"]["image_urls"]["front"]
    wrong = client.request(
        "DELETE", f"{AUTH}/me", headers=full_user["headers"], json={"password": "not my password"}
    )
    assert wrong.status_code == 401
    with caplog.at_level(logging.INFO, logger="dermalens.audit"):
        response = client.request(
            "DELETE", f"{AUTH}/me", headers=full_user["headers"], json={"password": PASSWORD}
        )
    assert response.status_code == 204
    assert any(getattr(r, "audit_event", None) == "account.deleted" for r in caplog.records)
    assert _remaining(container, user_id) == {"scans": 0, "plans": 0, "chat": 0, "records": 0, "user": 0}
    assert client.get(image_url).status_code == 404
    assert not (container.storage.root / "users" / user_id).exists()
    assert client.get(f"{AUTH}/me", headers=full_user["headers"]).status_code == 401
    assert _login(client, full_user["email"]) == 401
    again = client.post(f"{AUTH}/register", json={"email": full_user["email"], "password": PASSWORD})
    assert again.status_code == 201, "the email is free again"


def test_deletion_failing_halfway_is_finished_by_a_retry(
    client: TestClient, container: Any, full_user: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id = full_user["user"]["user_id"]

    def broken(**_: Any) -> int:
        raise DependencyUnavailableError("chat table unavailable")

    monkeypatch.setattr(container.chat_repo, "delete_all", broken)
    first = client.request("DELETE", f"{AUTH}/me", headers=full_user["headers"], json={"password": PASSWORD})
    assert first.status_code == 503
    # Tokens stop working at once, even though the data is not all gone yet.
    assert client.get(f"{AUTH}/me", headers=full_user["headers"]).status_code == 401
    assert client.get("/api/v1/scans", headers=full_user["headers"]).status_code == 401
    assert _login(client, full_user["email"]) == 401
    assert _remaining(container, user_id)["chat"] > 0
    monkeypatch.undo()
    retry = client.request("DELETE", f"{AUTH}/me", headers=full_user["headers"], json={"password": PASSWORD})
    assert retry.status_code == 204
    assert _remaining(container, user_id) == {"scans": 0, "plans": 0, "chat": 0, "records": 0, "user": 0}


def test_interrupted_deletion_is_finished_at_start_up(
    settings: Settings, container: Any, full_user: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id = full_user["user"]["user_id"]
    monkeypatch.setattr(
        container.plans_repo, "delete_all", lambda **_: (_ for _ in ()).throw(DependencyUnavailableError())
    )
    with pytest.raises(DependencyUnavailableError):
        container.account.delete_account(user=container.users.get(user_id=user_id), password=PASSWORD)
    with TestClient(create_app(settings)):
        pass  # the new instance's start-up resumes the deletion
    assert _remaining(container, user_id) == {"scans": 0, "plans": 0, "chat": 0, "records": 0, "user": 0}


def _mailed_token(container: Any, email: str, path: str) -> str:
    mail = next(m for m in reversed(container.mailer.sent) if m["to"] == email)
    match = re.search(rf"{path}\?token=([\w-]+)", mail["body"])
    assert match, mail
    return match.group(1)


def test_email_verification(client: TestClient, container: Any, user: dict) -> None:
    assert client.get(f"{AUTH}/me", headers=user["headers"]).json()["email_verified"] is False
    assert client.post(f"{AUTH}/verify-email/request", headers=user["headers"]).status_code == 202
    token = _mailed_token(container, user["email"], "verify-email")
    assert client.post(f"{AUTH}/verify-email/confirm", json={"token": token}).status_code == 204
    assert client.get(f"{AUTH}/me", headers=user["headers"]).json()["email_verified"] is True
    reused = client.post(f"{AUTH}/verify-email/confirm", json={"token": token})
    assert reused.status_code == 400
    assert reused.json()["error"]["code"] == "invalid_token"


def test_password_reset_same_answer_single_use_and_revokes_sessions(
    client: TestClient, container: Any, user: dict
) -> None:
    known = client.post(f"{AUTH}/password-reset/request", json={"email": user["email"]})
    unknown = client.post(f"{AUTH}/password-reset/request", json={"email": unique_email()})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    token = _mailed_token(container, user["email"], "reset-password")
    done = client.post(
        f"{AUTH}/password-reset/confirm", json={"token": token, "new_password": "a fresh passphrase"}
    )
    assert done.status_code == 204
    assert client.get(f"{AUTH}/me", headers=user["headers"]).status_code == 401, "sessions are revoked"
    assert _login(client, user["email"]) == 401
    assert _login(client, user["email"], "a fresh passphrase") == 200
    again = client.post(
        f"{AUTH}/password-reset/confirm", json={"token": token, "new_password": "another passphrase"}
    )
    assert again.status_code == 400
    forged = client.post(
        f"{AUTH}/password-reset/confirm", json={"token": "x" * 43, "new_password": "another passphrase"}
    )
    assert forged.status_code == 400


def test_lockout_is_shared_across_two_instances(settings: Settings, client: TestClient, register) -> None:
    victim = register()
    with TestClient(create_app(settings)) as other_instance:
        instances = [client, other_instance]
        for attempt in range(settings.login_lockout_threshold):
            assert _login(instances[attempt % 2], victim["email"], "wrong guess") == 401
        locked = other_instance.post(f"{AUTH}/login", json={"email": victim["email"], "password": PASSWORD})
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) >= settings.login_lockout_base_seconds - 1
        assert locked.json()["error"]["code"] == "login_locked"
        assert _login(client, victim["email"]) == 429, "the right password does not bypass a lockout"
    assert _login(client, register()["email"]) == 200, "other accounts are unaffected"


def test_lockout_grows_exponentially() -> None:
    from app.auth.login_guard import LockoutPolicy, lock_seconds

    policy = LockoutPolicy(threshold=5, base_seconds=30, max_seconds=3600)
    assert [lock_seconds(n, policy) for n in (4, 5, 6, 7, 20)] == [0, 30, 60, 120, 3600]


def test_ip_lockout(dynamodb_endpoint: str, tmp_path) -> None:
    settings = make_settings(dynamodb_endpoint, tmp_path, login_ip_lockout_threshold=3)
    address = fresh_ip()
    with TestClient(create_app(settings), client=(address, 40000)) as app_client:
        # Three different accounts from one address: the address gets locked, not the accounts.
        for _ in range(3):
            assert _login(app_client, unique_email(), "guess") == 401
        response = app_client.post(f"{AUTH}/login", json={"email": unique_email(), "password": "guess"})
        assert response.status_code == 429
        assert response.json()["error"]["details"]["scope"] == "ip"


def test_scan_quota_per_day(dynamodb_endpoint: str, tmp_path) -> None:
    settings = make_settings(dynamodb_endpoint, tmp_path, scans_per_day=2)
    with TestClient(create_app(settings)) as app_client:
        token = app_client.post(
            f"{AUTH}/register", json={"email": unique_email(), "password": PASSWORD}
        ).json()
        headers = {"Authorization": f"Bearer {token['tokens']['access_token']}"}
        assert [app_client.post("/api/v1/scans", headers=headers, json={}).status_code for _ in range(3)] == [
            201,
            201,
            429,
        ]


def test_production_settings_refuse_unsafe_values() -> None:
    with pytest.raises(ValueError, match="SECRET_KEY"):
        Settings(_env_file=None, environment="production")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="CORS"):
        Settings(_env_file=None, environment="production", secret_key="s" * 40, cors_origins="*")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="GEMINI_API_KEY"):
        Settings(_env_file=None, chat_provider="gemini")  # type: ignore[call-arg]
    ok = Settings(
        _env_file=None,
        environment="production",
        secret_key="s" * 40,
        mail_backend="ses",
        storage_backend="s3",
        s3_bucket_name="bucket",
        cors_origins="https://a.example,https://b.example",
    )  # type: ignore[call-arg]
    assert ok.cors_origins == ["https://a.example", "https://b.example"]


def test_cors_and_docs_follow_configuration(dynamodb_endpoint: str, tmp_path) -> None:
    settings = make_settings(
        dynamodb_endpoint, tmp_path, cors_origins="https://app.dermalens.example", docs_enabled=False
    )
    with TestClient(create_app(settings)) as app_client:
        preflight = {"Access-Control-Request-Method": "POST"}
        allowed = app_client.options(
            f"{AUTH}/login", headers={"Origin": "https://app.dermalens.example", **preflight}
        )
        assert allowed.headers.get("access-control-allow-origin") == "https://app.dermalens.example"
        denied = app_client.options(f"{AUTH}/login", headers={"Origin": "https://evil.example", **preflight})
        assert "access-control-allow-origin" not in denied.headers
        assert app_client.get("/api/v1/docs").status_code == 404
        assert app_client.get("/api/v1/openapi.json").status_code == 404


def test_wrong_content_type_is_refused(client: TestClient) -> None:
    response = client.post(
        f"{AUTH}/login", content=b"email=a&password=b", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
