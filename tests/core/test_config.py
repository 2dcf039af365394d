"""Configuration stays documented and backwards compatible."""

import io
import stat
import subprocess
from pathlib import Path
from typing import get_origin

import pytest
from dotenv import dotenv_values
from pydantic import ValidationError

from app.core.config import DEFAULT_SECRET_KEY, Settings, get_settings
from tests.envfiles import (
    ENV_EXAMPLE,
    RENDER_ENV_FILE,
    clear_setting_env,
    parse_systemd_env,
    setting_names,
    setup_ec2_env_file,
)

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_listed_in_env_example() -> None:
    listed = {
        line.split("=", 1)[0].strip()
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    expected = {name.upper() for name in Settings.model_fields}
    assert expected - listed == set(), "add these to .env.example"
    assert listed - expected == set(), "these in .env.example are not settings"


def test_first_edition_names_still_work(monkeypatch) -> None:
    legacy = {
        "AWS_REGION": "eu-west-1",
        "AWS_DYNAMODB_ENDPOINT": "http://localhost:9999",
        "DYNAMODB_USERS_TABLE": "old-users",
        "DYNAMODB_SCANS_TABLE": "old-scans",
        "DYNAMODB_PLANS_TABLE": "old-plans",
        "DYNAMODB_CHAT_TABLE": "old-chat",
        "S3_BUCKET_NAME": "old-bucket",
        "SECRET_KEY": "x" * 40,
        "GEMINI_API_KEY": "k",
    }
    for name, value in legacy.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.aws_region == "eu-west-1"
    assert settings.uses_local_dynamodb
    assert settings.table_names["users"] == "old-users"
    assert settings.table_names["chat"] == "old-chat"
    assert settings.s3_bucket_name == "old-bucket"
    assert settings.gemini_api_key == "k"


# ---- list settings: the forms the README and .env.example promise ----

LIST_SETTINGS = sorted(
    name.upper()
    for name, field in Settings.model_fields.items()
    if get_origin(field.annotation) is list or field.annotation is list
)
# Two valid items per list setting (each setting validates its items its own way).
LIST_SAMPLES = {"TRUSTED_PROXIES": ("10.0.0.0/16", "10.1.0.7")}
DEFAULT_SAMPLE = ("https://a.example", "https://b.example")


def list_forms(name: str) -> dict[str, list[str]]:
    a, b = LIST_SAMPLES.get(name, DEFAULT_SAMPLE)
    return {"": [], a: [a], f"{a}, {b}": [a, b], f'["{a}","{b}"]': [a, b]}


def test_there_are_list_settings_to_check() -> None:
    assert "CORS_ORIGINS" in LIST_SETTINGS


@pytest.mark.parametrize("name", LIST_SETTINGS)
@pytest.mark.parametrize("form", range(4))
def test_list_settings_accept_empty_one_comma_list_and_json(
    name: str, form: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, expected = list(list_forms(name).items())[form]
    clear_setting_env(monkeypatch)
    monkeypatch.setenv(name, raw)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert getattr(settings, name.lower()) == expected


@pytest.mark.parametrize("name", LIST_SETTINGS)
def test_list_settings_read_from_a_dotenv_file(name: str, tmp_path: Path, monkeypatch) -> None:
    a, b = LIST_SAMPLES.get(name, DEFAULT_SAMPLE)
    clear_setting_env(monkeypatch)
    env_file = tmp_path / ".env"
    env_file.write_text(f"{name}={a},{b}\n")
    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert getattr(settings, name.lower()) == [a, b]


def test_a_broken_json_list_is_a_clear_settings_error(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_setting_env(monkeypatch)
    monkeypatch.setenv("CORS_ORIGINS", '["https://a.example"')
    with pytest.raises(ValidationError, match="cors_origins"):
        Settings(_env_file=None)  # type: ignore[call-arg]


# ---- env files: comments on their own lines, so systemd reads the same values ----


@pytest.mark.parametrize("source", [".env.example", "setup_ec2.sh"])
def test_env_files_have_no_inline_comments(source: str) -> None:
    text = ENV_EXAMPLE.read_text() if source == ".env.example" else setup_ec2_env_file()
    value_lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert value_lines, "no settings found"
    assert [line for line in value_lines if "#" in line] == []
    systemd = parse_systemd_env(text)
    # python-dotenv (used by `.env`) and systemd (EnvironmentFile=) must agree on every value.
    assert systemd == {key: value or "" for key, value in dotenv_values(stream=io.StringIO(text)).items()}
    assert set(systemd) == setting_names()


def test_setup_ec2_env_file_is_production_and_parses_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    values = parse_systemd_env(setup_ec2_env_file(S3_BUCKET_NAME="photos-bucket", AWS_REGION="eu-west-1"))
    assert values["VISION_PROVIDER"] == "local"
    assert values["MAIL_BACKEND"] == "ses"
    clear_setting_env(monkeypatch)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.environment == "production"
    assert settings.storage_backend == "s3"
    assert settings.s3_bucket_name == "photos-bucket"
    assert settings.aws_region == "eu-west-1"
    assert len(settings.secret_key) >= 32
    assert settings.docs_enabled is False
    # A fresh key for every instance set up, never a shared one.
    assert parse_systemd_env(setup_ec2_env_file())["SECRET_KEY"] != values["SECRET_KEY"]


# ---- unsafe settings are refused at start-up outside development ----

STRONG_KEY = "k" * 48


def production(**values: object) -> Settings:
    base: dict[str, object] = {
        "environment": "production",
        "secret_key": STRONG_KEY,
        "mail_backend": "ses",
        "storage_backend": "s3",
        "s3_bucket_name": "bucket",
    }
    return Settings(_env_file=None, **{**base, **values})  # type: ignore[call-arg]


def test_a_safe_production_configuration_starts() -> None:
    assert production().environment == "production"
    assert production(storage_backend="local", single_instance=True).single_instance is True


@pytest.mark.parametrize("environment", ["production", "test"])
@pytest.mark.parametrize("key", ["", DEFAULT_SECRET_KEY, "s" * 31])
def test_weak_secret_keys_are_refused_outside_development(environment: str, key: str) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY must be a random value of at least 32"):
        production(environment=environment, secret_key=key)


def test_production_refuses_the_log_mailer() -> None:
    with pytest.raises(ValidationError, match="MAIL_BACKEND=log writes password-reset"):
        production(mail_backend="log")


def test_production_refuses_local_images_unless_one_instance_is_declared() -> None:
    with pytest.raises(ValidationError, match="SINGLE_INSTANCE=true"):
        production(storage_backend="local")


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, environment="production")  # type: ignore[call-arg]
    message = str(caught.value)
    assert "SECRET_KEY" in message
    assert "MAIL_BACKEND" in message
    assert "STORAGE_BACKEND" in message


def test_development_and_the_suite_keep_the_log_mailer_and_local_images() -> None:
    dev = Settings(_env_file=None)  # type: ignore[call-arg]
    assert dev.mail_backend == "log"
    assert dev.storage_backend == "local"
    suite = Settings(_env_file=None, environment="test", secret_key=STRONG_KEY)  # type: ignore[call-arg]
    assert suite.mail_backend == "log"
    assert suite.storage_backend == "local"


# ---- development: a generated secret key, kept under the data dir ----


def _dev_settings(monkeypatch: pytest.MonkeyPatch, data_dir: Path, **env: str) -> Settings:
    clear_setting_env(monkeypatch)
    monkeypatch.chdir(data_dir.parent)  # no `.env` there
    monkeypatch.setenv("DERMALENS_DATA_DIR", str(data_dir))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        return get_settings()
    finally:
        get_settings.cache_clear()


def test_development_generates_a_secret_key_once_and_keeps_it(tmp_path: Path, monkeypatch) -> None:
    data_dir = tmp_path / "data"
    first = _dev_settings(monkeypatch, data_dir)
    key_file = data_dir / "dev-secret-key"
    assert len(first.secret_key) >= 32
    assert first.secret_key != DEFAULT_SECRET_KEY
    assert key_file.read_text().strip() == first.secret_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert _dev_settings(monkeypatch, data_dir).secret_key == first.secret_key
    # Another checkout (another data dir) gets its own key.
    assert _dev_settings(monkeypatch, tmp_path / "other").secret_key != first.secret_key


def test_development_placeholder_key_is_replaced_too(tmp_path: Path, monkeypatch) -> None:
    settings = _dev_settings(monkeypatch, tmp_path / "data", SECRET_KEY=DEFAULT_SECRET_KEY)
    assert settings.secret_key == (tmp_path / "data" / "dev-secret-key").read_text().strip()


@pytest.mark.parametrize("key", [STRONG_KEY, "my-short-dev-key"])
def test_a_configured_secret_key_is_used_and_no_file_is_written(
    key: str, tmp_path: Path, monkeypatch
) -> None:
    settings = _dev_settings(monkeypatch, tmp_path / "data", SECRET_KEY=key)
    assert settings.secret_key == key
    assert not (tmp_path / "data" / "dev-secret-key").exists()


def test_the_env_file_renderer_refuses_a_template_with_inline_comments(tmp_path: Path) -> None:
    template = tmp_path / ".env.example"
    template.write_text("# own line is fine\nVISION_PROVIDER=local   # local | gemini\nPORT=8000\n")
    result = subprocess.run(
        ["bash", str(RENDER_ENV_FILE), str(template)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "VISION_PROVIDER=local" in result.stderr
    assert "own line" in result.stderr


# ---- DEPLOYMENT=multi: several instances, so photos must be in S3 (issue 16) ----


@pytest.mark.parametrize("environment", ["development", "test", "production"])
def test_several_instances_refuse_local_photo_storage_in_every_environment(environment: str) -> None:
    with pytest.raises(ValidationError, match="DEPLOYMENT=multi needs STORAGE_BACKEND=s3"):
        Settings(  # type: ignore[call-arg]
            _env_file=None,
            environment=environment,
            secret_key=STRONG_KEY,
            deployment="multi",
            single_instance=True,
        )


def test_several_instances_with_s3_start() -> None:
    settings = production(deployment="multi")
    assert settings.deployment == "multi"
    assert settings.storage_backend == "s3"


def test_multi_and_single_instance_contradict_each_other() -> None:
    with pytest.raises(ValidationError, match="DEPLOYMENT=multi contradicts SINGLE_INSTANCE=true"):
        production(deployment="multi", single_instance=True)


def test_one_instance_keeps_local_storage_in_development() -> None:
    assert Settings(_env_file=None).deployment == "single"  # type: ignore[call-arg]


def test_the_env_file_renderer_writes_no_key_when_the_key_is_in_ssm() -> None:
    values = parse_systemd_env(
        setup_ec2_env_file(
            S3_BUCKET_NAME="b", SECRET_KEY_SSM_PARAMETER="/dermalens/secret-key", CREATE_TABLES="false"
        )
    )
    assert values["SECRET_KEY"] == ""
    assert values["SECRET_KEY_SSM_PARAMETER"] == "/dermalens/secret-key"
    assert values["CREATE_TABLES"] == "false"
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in values.items()})  # type: ignore[call-arg]
    assert settings.secret_key_source == "ssm:/dermalens/secret-key"
    assert settings.create_tables is False
