"""Configuration stays documented and backwards compatible."""

from pathlib import Path

from app.core.config import Settings

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
    assert settings.table_names["users"] == "old-users" and settings.table_names["chat"] == "old-chat"
    assert settings.s3_bucket_name == "old-bucket" and settings.gemini_api_key == "k"
