"""Test session: one in-memory DynamoDB Local on a free port, shared by every test.

Tests isolate by user (every table is partitioned by `user_id`), so each test signs up
fresh users instead of recreating tables.
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.security import new_id
from app.db.local_dynamodb import DynamoDBLocal, free_port
from app.main import create_app
from tests.factories import user_record

PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> Iterator[str]:
    """DynamoDB Local for the whole session (or DYNAMODB_TEST_ENDPOINT if set)."""
    external = os.environ.get("DYNAMODB_TEST_ENDPOINT")
    if external:
        yield external
        return
    with DynamoDBLocal(port=free_port()) as local:
        yield local.endpoint


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


def make_settings(endpoint: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "aws_dynamodb_endpoint": endpoint,
        "dermalens_data_dir": data_dir,
        "secret_key": "test-secret-key-that-is-long-enough-0123456789",
        "aws_max_attempts": 2,
        "aws_connect_timeout_seconds": 1,
        "aws_read_timeout_seconds": 5,
        # Every test client shares one IP ("testclient"); the IP lockout has its own test.
        "login_ip_lockout_threshold": 100_000,
        # ... and so does the per-address registration limit.
        "register_per_ip_per_hour": 100_000,
        # No reminder loop in the shared app: scheduler tests drive ticks at chosen minutes.
        "notification_scheduler_seconds": 0,
        # A TestClient app is one process: it gets every core's Argon2 slot, as before workers.
        "web_concurrency": 1,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def settings(dynamodb_endpoint: str, data_dir: Path) -> Settings:
    return make_settings(dynamodb_endpoint, data_dir)


@pytest.fixture(scope="session")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def container(client: TestClient) -> Any:
    return client.app.state.container  # type: ignore[attr-defined]


def unique_email() -> str:
    return f"user-{new_id().lower()}@example.com"


@pytest.fixture
def register(client: TestClient) -> Callable[..., dict[str, Any]]:
    """Sign up a fresh user; returns the register response plus `headers` for bearer auth."""

    def _register(**profile: Any) -> dict[str, Any]:
        email = profile.pop("email", None) or unique_email()
        response = client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD, **profile}
        )
        assert response.status_code == 201, response.text
        body = response.json()
        body["email"] = email
        body["headers"] = {"Authorization": f"Bearer {body['tokens']['access_token']}"}
        return body

    return _register


@pytest.fixture
def user(register: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return register()


@pytest.fixture
def new_user(container: Any) -> Iterator[Callable[[], str]]:
    """Makes users with a stored user item (writes are refused for a user who does not exist);
    their plans, chats and user items are removed after the test."""
    made: list[Any] = []

    def make() -> str:
        user = user_record()
        container.users.create(user=user)
        made.append(user)
        return str(user.user_id)

    yield make
    for user in made:
        container.plans_repo.delete_all(user_id=user.user_id)
        container.chat_repo.delete_all(user_id=user.user_id)
        container.users.delete(user_id=user.user_id, email=user.email)


@pytest.fixture
def user_id(new_user: Callable[[], str]) -> str:
    return new_user()
