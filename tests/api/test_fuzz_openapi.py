"""Property-based fuzzing of every operation from the app's own OpenAPI schema (schemathesis).

Authenticated as a real user; asserts no 5xx ever, and that responses match their declared
schemas. Example counts are kept small so the suite stays fast; raise FUZZ_EXAMPLES locally.
"""

import os
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from app.core.config import Settings
from app.main import create_app
from tests.conftest import PASSWORD, unique_email

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))


@pytest.fixture(scope="session")
def api_schema(settings: Settings) -> Any:
    # A dedicated app instance: schemathesis runs its lifespan in its own event loop for the rest
    # of the process, which must not replace the shared test client's container.
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(settings))


@pytest.fixture(scope="session")
def fuzz_headers(client: TestClient) -> dict[str, str]:
    body = client.post("/api/v1/auth/register", json={"email": unique_email(), "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {body['tokens']['access_token']}"}


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.exclude(
    path_regex=r"^/api/v1/auth/(me|logout|change-password)$", method=["DELETE", "POST"]
).parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors_and_schema_conformance(case: Any, fuzz_headers: dict[str, str]) -> None:
    # Account deletion, logout and password change would end the fuzzing user's session.
    case.call_and_validate(headers=fuzz_headers, checks=[not_a_server_error, response_schema_conformance])
