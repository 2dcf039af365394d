"""Sign-in and sessions under attack and under races, over HTTP against DynamoDB Local.

Each test here reproduces a defect found by trying the service as an attacker (or as an
unlucky client) would: racing a password change, spoofing X-Forwarded-For, bursting
guesses, flooding Argon2, retrying a refresh, typing an accented email, oversized input.
"""

import threading
import time
import unicodedata
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import app.auth.service as auth_module
from app.core import security
from app.core.security import new_id
from app.main import create_app
from tests.conftest import PASSWORD, make_settings, unique_email
from tests.helpers import fresh_ip

AUTH = "/api/v1/auth"
NEW_PASSWORD = "a brand new passphrase"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def fresh_ipv6() -> str:
    return f"2001:db8:{int(new_id()[-4:], 36) % 65535:x}:{int(new_id()[-8:-4], 36) % 65535:x}::1"


@pytest.fixture
def app_client(dynamodb_endpoint: str, tmp_path: Path) -> Iterator[Any]:
    """A factory for a private app (own settings, own client address) on the shared DynamoDB Local."""
    opened: list[TestClient] = []

    def _open(*, address: str | None = None, **overrides: Any) -> TestClient:
        settings = make_settings(dynamodb_endpoint, tmp_path, **overrides)
        client = TestClient(create_app(settings), client=(address or fresh_ip(), 40000))
        client.__enter__()
        opened.append(client)
        return client

    yield _open
    for client in opened:
        client.__exit__(None, None, None)


def register(client: TestClient, email: str | None = None, **headers: str) -> dict[str, Any]:
    email = email or unique_email()
    response = client.post(f"{AUTH}/register", json={"email": email, "password": PASSWORD}, headers=headers)
    assert response.status_code == 201, response.text
    return {"email": email, **response.json()}


def login(client: TestClient, email: str, password: str = PASSWORD, **headers: str) -> Any:
    return client.post(f"{AUTH}/login", json={"email": email, "password": password}, headers=headers)


# ---- 1. a password change evicts everyone who knew the old password ----


@pytest.mark.parametrize("how", ["change", "reset"])
def test_logins_racing_a_password_change_keep_no_session(
    app_client: Any, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    client = app_client(login_lockout_threshold=100, login_account_failures_per_hour=100)
    user = register(client)
    reset_token = ""
    if how == "reset":
        assert client.post(f"{AUTH}/password-reset/request", json={"email": user["email"]}).status_code == 202
        mailer = client.app.state.container.mailer  # type: ignore[attr-defined]
        reset_token = mailer.sent[-1]["body"].split("token=")[1].split()[0]
    racers = 10
    verified = threading.Semaphore(0)
    changed = threading.Event()
    calls = {"n": 0}
    lock = threading.Lock()
    real_verify = auth_module.verify_password

    def verify_then_wait(password: str, password_hash: str | None) -> bool:
        # The racing logins verify the old password, then stall until the change is done:
        # the exact interleaving a slow login thread hits by chance in production.
        result = real_verify(password, password_hash)
        with lock:
            calls["n"] += 1
            racer = calls["n"] <= racers
        if racer:
            verified.release()
            changed.wait(15)
        return result

    monkeypatch.setattr(auth_module, "verify_password", verify_then_wait)
    with ThreadPoolExecutor(max_workers=racers) as pool:
        futures = [pool.submit(login, client, user["email"]) for _ in range(racers)]
        for _ in range(racers):
            assert verified.acquire(timeout=30)
        if how == "change":
            change = client.post(
                f"{AUTH}/change-password",
                headers=bearer(user["tokens"]["access_token"]),
                json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            )
        else:
            change = client.post(
                f"{AUTH}/password-reset/confirm", json={"token": reset_token, "new_password": NEW_PASSWORD}
            )
        assert change.status_code == 204, change.text
        changed.set()
        responses = [f.result() for f in futures]

    working = 0
    for response in responses:
        assert response.status_code in (200, 401), response.text
        if response.status_code == 200:
            tokens = response.json()
            me = client.get(f"{AUTH}/me", headers=bearer(tokens["access_token"]))
            refreshed = client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})
            working += me.status_code == 200 or refreshed.status_code == 200
    assert working == 0, f"{working} of {racers} logins with the old password kept a session"
    own_session = client.get(f"{AUTH}/me", headers=bearer(user["tokens"]["access_token"])).status_code
    assert own_session == (200 if how == "change" else 401)
    assert login(client, user["email"], NEW_PASSWORD).status_code == 200


# ---- 2. the client address: only configured proxies are trusted ----


def test_forwarded_for_is_trusted_only_from_configured_proxies(app_client: Any) -> None:
    lb = app_client(
        address="10.0.0.5",
        trusted_proxies="10.0.0.0/8",
        login_ip_lockout_threshold=3,
        login_lockout_threshold=100,
    )
    attacker, neighbour = fresh_ip("203.0.113"), fresh_ip("192.0.2")
    # The attacker writes a new leftmost address every time; the load balancer appends the real one.
    for i in range(3):
        spoofed = {"X-Forwarded-For": f"198.18.0.{i}, {attacker}"}
        assert login(lb, unique_email(), "guess", **spoofed).status_code == 401
    blocked = login(lb, unique_email(), "guess", **{"X-Forwarded-For": f"198.18.9.9, {attacker}"})
    assert blocked.status_code == 429
    assert blocked.json()["error"]["details"]["scope"] == "ip"
    # Someone else behind the same load balancer is not locked out with the attacker.
    assert login(lb, unique_email(), "guess", **{"X-Forwarded-For": neighbour}).status_code == 401

    # A direct caller (not a configured proxy) cannot pick its address with the header.
    direct = app_client(
        address=fresh_ip("198.51.100"), login_ip_lockout_threshold=3, login_lockout_threshold=100
    )
    for i in range(3):
        assert (
            login(direct, unique_email(), "guess", **{"X-Forwarded-For": f"198.18.1.{i}"}).status_code == 401
        )
    assert login(direct, unique_email(), "guess", **{"X-Forwarded-For": "198.18.2.1"}).status_code == 429


def test_ipv6_clients_are_limited_per_64_prefix(app_client: Any) -> None:
    base = fresh_ipv6().rsplit("::", 1)[0]
    client = app_client(address=f"{base}::1", login_ip_lockout_threshold=3, login_lockout_threshold=100)
    for host in ("1", "2", "3"):
        client_for_host = TestClient(client.app, client=(f"{base}::{host}", 40000))
        assert login(client_for_host, unique_email(), "guess").status_code == 401
    rotated = TestClient(client.app, client=(f"{base}::beef", 40000))
    assert login(rotated, unique_email(), "guess").status_code == 429


def test_per_account_budget_holds_whatever_address_the_guesses_come_from(app_client: Any) -> None:
    lb = app_client(
        address="10.0.0.6",
        trusted_proxies="10.0.0.0/8",
        login_lockout_threshold=100,
        login_account_failures_per_hour=3,
    )
    victim = register(lb, **{"X-Forwarded-For": fresh_ip("192.0.2")})
    for _ in range(3):
        assert (
            login(lb, victim["email"], "guess", **{"X-Forwarded-For": fresh_ip("203.0.113")}).status_code
            == 401
        )
    refused = login(lb, victim["email"], "guess", **{"X-Forwarded-For": fresh_ip("198.18.0")})
    assert refused.status_code == 429
    assert refused.json()["error"]["details"]["scope"] == "account"
    assert int(refused.headers["retry-after"]) > 0
    assert login(lb, victim["email"], **{"X-Forwarded-For": fresh_ip("198.18.1")}).status_code == 429, (
        "the right password does not reopen a spent budget"
    )


# ---- 3. the lockout counts before it verifies ----


def test_a_burst_of_guesses_is_cut_at_the_threshold_and_does_not_inflate_the_lockout(
    app_client: Any,
) -> None:
    client = app_client(login_lockout_threshold=5, login_lockout_base_seconds=30)
    victim = register(client)
    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(
            pool.map(lambda _: login(client, victim["email"], "wrong guess").status_code, range(30))
        )
    assert statuses.count(401) <= 5, f"{statuses.count(401)} guesses were evaluated"
    assert set(statuses) <= {401, 429}
    owner = login(client, victim["email"])
    assert owner.status_code == 429
    assert int(owner.headers["retry-after"]) <= 60, "the owner waits one base lockout, not an hour"


# ---- 4. Argon2 is not free for anyone to run ----


def test_register_is_rate_limited_per_address(app_client: Any) -> None:
    client = app_client(register_per_ip_per_hour=3)
    assert [
        client.post(f"{AUTH}/register", json={"email": unique_email(), "password": PASSWORD}).status_code
        for _ in range(4)
    ] == [201, 201, 201, 429]
    refused = client.post(f"{AUTH}/register", json={"email": unique_email(), "password": PASSWORD})
    assert refused.json()["error"]["code"] == "register_rate_limited"
    assert int(refused.headers["retry-after"]) > 0


def test_concurrent_password_hashes_are_capped(app_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client = app_client(
        password_hash_concurrency=2, login_lockout_threshold=100, register_per_ip_per_hour=100
    )
    users = [register(client) for _ in range(4)]
    active, peak = {"now": 0}, {"max": 0}
    lock = threading.Lock()

    def tracked(real: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            with lock:
                active["now"] += 1
                peak["max"] = max(peak["max"], active["now"])
            try:
                time.sleep(0.05)  # hold the "64 MiB" a little longer, so overlaps are seen
                return real(*args, **kwargs)
            finally:
                with lock:
                    active["now"] -= 1

        return run

    monkeypatch.setattr(security._password_hash, "hash", tracked(security._password_hash.hash))
    monkeypatch.setattr(security._password_hash, "verify", tracked(security._password_hash.verify))

    def one(i: int) -> int:
        if i % 2:
            return login(client, users[i % 4]["email"]).status_code
        return client.post(
            f"{AUTH}/register", json={"email": unique_email(), "password": PASSWORD}
        ).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(one, range(12)))
    assert set(statuses) <= {200, 201}, statuses
    assert peak["max"] <= 2, f"{peak['max']} Argon2 computations ran at once"


# ---- 5. a retried refresh does not sign the user out ----


def test_a_retried_refresh_gets_the_same_new_pair(client: TestClient, user: dict) -> None:
    token = user["tokens"]["refresh_token"]
    first = client.post(f"{AUTH}/refresh", json={"refresh_token": token})
    retry = client.post(f"{AUTH}/refresh", json={"refresh_token": token})
    assert first.status_code == retry.status_code == 200, retry.text
    assert retry.json() == first.json()
    assert client.get(f"{AUTH}/me", headers=bearer(retry.json()["access_token"])).status_code == 200
    assert (
        client.post(f"{AUTH}/refresh", json={"refresh_token": first.json()["refresh_token"]}).status_code
        == 200
    )


def test_concurrent_refreshes_of_one_token_all_succeed_with_one_pair(client: TestClient, user: dict) -> None:
    token = user["tokens"]["refresh_token"]
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(
            pool.map(lambda _: client.post(f"{AUTH}/refresh", json={"refresh_token": token}), range(6))
        )
    assert [r.status_code for r in responses] == [200] * 6, [r.text for r in responses]
    assert len({r.json()["refresh_token"] for r in responses}) == 1
    newest = responses[0].json()
    assert client.get(f"{AUTH}/me", headers=bearer(newest["access_token"])).status_code == 200


def test_reuse_after_the_grace_window_still_revokes_the_family(app_client: Any) -> None:
    client = app_client(refresh_reuse_grace_seconds=1)
    user = register(client)
    token = user["tokens"]["refresh_token"]
    rotated = client.post(f"{AUTH}/refresh", json={"refresh_token": token})
    assert rotated.status_code == 200
    time.sleep(2.2)
    reused = client.post(f"{AUTH}/refresh", json={"refresh_token": token})
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "refresh_token_reused"
    assert (
        client.post(f"{AUTH}/refresh", json={"refresh_token": rotated.json()["refresh_token"]}).status_code
        == 401
    )
    assert client.get(f"{AUTH}/me", headers=bearer(rotated.json()["access_token"])).status_code == 401


# ---- 6. one email normalisation for every path ----


def test_an_accented_email_works_in_every_form_it_can_be_typed(client: TestClient, container: Any) -> None:
    tag = new_id().lower()
    composed = f"josé-{tag}@bücher.example.com"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    created = client.post(f"{AUTH}/register", json={"email": decomposed, "password": PASSWORD})
    assert created.status_code == 201, created.text
    assert created.json()["user"]["email"] == composed
    for typed in (decomposed, decomposed.upper(), composed, f"josé-{tag}@xn--bcher-kva.example.com"):
        assert login(client, typed).status_code == 200, typed
    token = client.post(f"{AUTH}/token", data={"username": decomposed, "password": PASSWORD})
    assert token.status_code == 200
    again = client.post(f"{AUTH}/register", json={"email": composed.upper(), "password": PASSWORD})
    assert again.status_code == 409
    assert client.post(f"{AUTH}/password-reset/request", json={"email": decomposed}).status_code == 202
    assert container.mailer.sent[-1]["to"] == composed


def test_guesses_in_different_forms_of_one_email_share_one_lockout(app_client: Any) -> None:
    client = app_client(login_lockout_threshold=3)
    tag = new_id().lower()
    composed = f"zoë-{tag}@example.com"
    register(client, composed)
    forms = [unicodedata.normalize("NFD", composed), composed.upper(), f" {composed} "]
    assert [login(client, f, "guess").status_code for f in forms] == [401, 401, 401]
    assert login(client, composed).status_code == 429


# ---- 7. oversized or stale input is a 4xx, never a 500 ----


def test_token_form_with_an_oversized_username_is_a_4xx(client: TestClient) -> None:
    response = client.post(f"{AUTH}/token", data={"username": "a" * 3000 + "@example.com", "password": "x"})
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["code"] == "validation_error"
    not_an_email = client.post(f"{AUTH}/token", data={"username": "not an email", "password": "x"})
    assert not_an_email.status_code == 401
    assert not_an_email.json()["error"]["code"] == "invalid_credentials"


def test_a_verification_link_used_after_the_account_was_deleted_is_a_400(
    client: TestClient, container: Any, user: dict
) -> None:
    assert client.post(f"{AUTH}/verify-email/request", headers=user["headers"]).status_code == 202
    mail = next(m for m in reversed(container.mailer.sent) if m["to"] == user["email"])
    token = mail["body"].split("token=")[1].split()[0]
    deleted = client.request("DELETE", f"{AUTH}/me", headers=user["headers"], json={"password": PASSWORD})
    assert deleted.status_code == 204
    response = client.post(f"{AUTH}/verify-email/confirm", json={"token": token})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_token"


def test_a_sign_in_refused_because_the_server_is_busy_does_not_count_towards_a_lockout(
    app_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app_client(login_lockout_threshold=1)
    user = register(client)
    real = auth_module.verify_password

    def busy(*_args: Any, **_kwargs: Any) -> bool:
        raise security.DependencyUnavailableError("Too many sign-ins are being processed right now.")

    monkeypatch.setattr(auth_module, "verify_password", busy)
    assert login(client, user["email"]).status_code == 503
    monkeypatch.setattr(auth_module, "verify_password", real)
    # With a threshold of one, a counted attempt would have locked the account.
    assert login(client, user["email"]).status_code == 200
