"""The service starts from its own documentation: a copy of `.env.example`, or setup_ec2.sh's file.

Only what must point at this machine's stand-ins is overridden (DynamoDB Local, moto's S3);
every other value comes from the file, read the way its consumer reads it.
"""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import get_settings
from app.main import create_app
from app.providers.storage.s3 import build_s3_client
from tests.conftest import PASSWORD, unique_email
from tests.envfiles import ENV_EXAMPLE, clear_setting_env, parse_systemd_env, setup_ec2_env_file
from tests.helpers import fresh_ip
from tests.moto_server import FAKE_CREDENTIALS, moto_server


def _fresh_address() -> tuple[str, int]:
    # The documented files keep the per-IP sign-up limit, and the suite shares one DynamoDB:
    # each boot test signs up from an address of its own (TEST-NET-2).
    return (fresh_ip(), 50000)


def _sign_up_and_in(client: TestClient) -> None:
    assert client.get("/health/ready").status_code == 200, client.get("/health/ready").text
    email = unique_email()
    registered = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    login = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == email


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("fresh_settings")
def test_starts_from_a_copy_of_env_example(
    dynamodb_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cp .env.example .env && make run`, minus the launcher (tests/test_devserver.py runs that)."""
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env")
    clear_setting_env(monkeypatch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_DYNAMODB_ENDPOINT", dynamodb_endpoint)  # what `make run` sets

    settings = get_settings()
    assert settings.environment == "development"
    assert settings.cors_origins == []
    with TestClient(create_app(settings), client=_fresh_address()) as client:
        _sign_up_and_in(client)
    assert (tmp_path / ".data" / "dev-secret-key").is_file()


@pytest.fixture
def moto_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with moto_server() as endpoint:
        yield endpoint


@pytest.mark.usefixtures("fresh_settings")
def test_starts_from_the_env_file_setup_ec2_writes(
    dynamodb_endpoint: str,
    moto_s3: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bucket = "dermalens-boot-test"
    values = parse_systemd_env(setup_ec2_env_file(S3_BUCKET_NAME=bucket, AWS_REGION="eu-west-1"))
    clear_setting_env(monkeypatch)
    monkeypatch.chdir(tmp_path)
    for name, value in values.items():
        monkeypatch.setenv(name, value)  # what systemd's EnvironmentFile= hands the process
    stand_ins = {
        "AWS_DYNAMODB_ENDPOINT": dynamodb_endpoint,
        "S3_ENDPOINT_URL": moto_s3,
        "DERMALENS_DATA_DIR": str(tmp_path / "var-lib-dermalens"),
    }
    for name, value in stand_ins.items():
        monkeypatch.setenv(name, value)

    settings = get_settings()
    assert settings.environment == "production"
    assert settings.mail_backend == "ses"
    build_s3_client(settings).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    with TestClient(create_app(settings), client=_fresh_address()) as client:
        _sign_up_and_in(client)
        assert client.get("/health/ready").json()["checks"]["storage"]["backend"] == "s3"
        assert client.get("/api/v1/docs").status_code == 404
