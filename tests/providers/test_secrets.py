"""SECRET_KEY / GEMINI_API_KEY read from SSM Parameter Store or Secrets Manager at start-up.

The real path runs: settings from the environment, boto3's default chain, real HTTP to moto's
server (through boto3's AWS_ENDPOINT_URL, as a VPC endpoint override would be set).
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from pydantic import ValidationError

from app.core.config import Settings, get_settings
from app.db.local_dynamodb import free_port
from app.providers.secrets import SecretUnavailableError
from tests.envfiles import clear_setting_env
from tests.moto_server import moto_server

KEY = "s" * 24 + "-from-the-parameter-store-" + "x" * 10
GEMINI_KEY = "AIza-test-gemini-key"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A production environment with no secret in it, and AWS answering from moto."""
    clear_setting_env(monkeypatch)
    for name, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "eu-west-1",
        "ENVIRONMENT": "production",
        "MAIL_BACKEND": "ses",
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET_NAME": "photos",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no stray .env
    get_settings.cache_clear()
    clients = {
        "ssm": boto3.client("ssm", endpoint_url=moto_endpoint, region_name="eu-west-1"),
        "secretsmanager": boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="eu-west-1"),
    }
    yield clients
    get_settings.cache_clear()


def unique(name: str) -> str:
    return f"/dermalens/{name}-{free_port()}"


def test_the_secret_key_comes_from_an_ssm_secure_string(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = unique("secret-key")
    aws["ssm"].put_parameter(Name=name, Value=KEY, Type="SecureString")
    monkeypatch.setenv("SECRET_KEY_SSM_PARAMETER", name)
    settings = get_settings()
    assert settings.secret_key == KEY
    assert settings.secret_key_source == ""  # resolved: no second source left behind
    assert settings.environment == "production"


def test_the_gemini_key_comes_from_secrets_manager_plain_or_json(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    plain, document = f"dermalens/gemini-{free_port()}", f"dermalens/keys-{free_port()}"
    aws["secretsmanager"].create_secret(Name=plain, SecretString=GEMINI_KEY)
    aws["secretsmanager"].create_secret(
        Name=document, SecretString=json.dumps({"GEMINI_API_KEY": GEMINI_KEY + "-json", "OTHER": "x"})
    )
    monkeypatch.setenv("SECRET_KEY", KEY)
    monkeypatch.setenv("VISION_PROVIDER", "gemini")
    monkeypatch.setenv("GEMINI_API_KEY_SECRET_ID", plain)
    assert get_settings().gemini_api_key == GEMINI_KEY
    get_settings.cache_clear()
    monkeypatch.setenv("GEMINI_API_KEY_SECRET_ID", document)
    assert get_settings().gemini_api_key == GEMINI_KEY + "-json"


@pytest.mark.usefixtures("aws")
def test_a_missing_parameter_stops_start_up_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY_SSM_PARAMETER", "/dermalens/nowhere")
    with pytest.raises(SecretUnavailableError) as caught:
        get_settings()
    assert (
        str(caught.value)
        == "SECRET_KEY_SSM_PARAMETER=/dermalens/nowhere: not found in eu-west-1; create it or fix the name"
    )


def test_a_json_secret_without_the_key_says_so(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    secret = f"dermalens/wrong-{free_port()}"
    aws["secretsmanager"].create_secret(Name=secret, SecretString=json.dumps({"SOMETHING_ELSE": "x"}))
    monkeypatch.setenv("SECRET_KEY_SECRET_ID", secret)
    with pytest.raises(SecretUnavailableError, match="without a 'SECRET_KEY' key"):
        get_settings()


def test_a_weak_key_from_ssm_is_refused_like_one_in_the_file(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = unique("short")
    aws["ssm"].put_parameter(Name=name, Value="too-short", Type="SecureString")
    monkeypatch.setenv("SECRET_KEY_SSM_PARAMETER", name)
    with pytest.raises(ValidationError, match="SECRET_KEY must be a random value"):
        get_settings()


@pytest.mark.usefixtures("aws")
def test_aws_unreachable_is_a_clear_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("SECRET_KEY_SSM_PARAMETER", "/dermalens/secret-key")
    with pytest.raises(
        SecretUnavailableError, match=r"SECRET_KEY_SSM_PARAMETER=/dermalens/secret-key: AWS did not answer"
    ):
        get_settings()


# ---- one place per secret (checked without AWS) ----

STRONG = "k" * 48


def production(**values: object) -> Settings:
    base: dict[str, object] = {
        "environment": "production",
        "mail_backend": "ses",
        "storage_backend": "s3",
        "s3_bucket_name": "bucket",
    }
    return Settings(_env_file=None, **{**base, **values})  # type: ignore[call-arg]


def test_a_named_parameter_stands_in_for_the_key_until_it_is_read() -> None:
    settings = production(secret_key_ssm_parameter="/dermalens/secret-key")
    assert settings.secret_key == ""
    assert settings.secret_key_source == "ssm:/dermalens/secret-key"


def test_a_key_in_the_file_and_a_parameter_are_refused_together() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY is set and also named in SSM"):
        production(secret_key=STRONG, secret_key_ssm_parameter="/dermalens/secret-key")


def test_a_parameter_and_a_secret_for_one_key_are_refused() -> None:
    with pytest.raises(
        ValidationError, match="GEMINI_API_KEY_SSM_PARAMETER and GEMINI_API_KEY_SECRET_ID are both set"
    ):
        production(secret_key=STRONG, gemini_api_key_ssm_parameter="/a", gemini_api_key_secret_id="b")


def test_gemini_with_a_named_key_passes_the_start_up_rule() -> None:
    settings = production(
        secret_key=STRONG, chat_provider="gemini", gemini_api_key_secret_id="dermalens/gemini"
    )
    assert settings.gemini_api_key_source == "secret:dermalens/gemini"
