"""scripts/check_aws_access.py, the access check setup_ec2.sh runs as the service user."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from app.core.config import Settings
from tests.moto_server import moto_server

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_aws_access.py"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="t",
            aws_secret_access_key="t",
        ).create_bucket(Bucket="photos-ok")
        yield endpoint


def run_check(settings: Settings, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The script as setup_ec2.sh runs it: its own process, settings only from the environment."""
    values = {
        "PATH": os.environ["PATH"],
        "ENVIRONMENT": "test",
        "SECRET_KEY": settings.secret_key,
        "AWS_DYNAMODB_ENDPOINT": settings.aws_dynamodb_endpoint,
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_MAX_ATTEMPTS": "1",
        **env,
    }
    return subprocess.run(
        [sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        env=values,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


@pytest.mark.usefixtures("client")  # its start-up created the tables
def test_the_check_passes_when_tables_and_bucket_answer(
    settings: Settings, s3_endpoint: str, tmp_path: Path
) -> None:
    result = run_check(
        settings, tmp_path, STORAGE_BACKEND="s3", S3_BUCKET_NAME="photos-ok", S3_ENDPOINT_URL=s3_endpoint
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for table in settings.table_names.values():
        assert f"ok   dynamodb:DescribeTable {table}" in lines
        assert f"ok   dynamodb:Query {table}" in lines
    assert "ok   s3:HeadBucket photos-ok" in lines
    assert "ok   s3:ListBucket photos-ok" in lines


@pytest.mark.usefixtures("client")
def test_a_missing_bucket_and_table_fail_with_the_name(
    settings: Settings, s3_endpoint: str, tmp_path: Path
) -> None:
    result = run_check(
        settings,
        tmp_path,
        STORAGE_BACKEND="s3",
        S3_BUCKET_NAME="photos-missing",
        S3_ENDPOINT_URL=s3_endpoint,
        DYNAMODB_RECORDS_TABLE="no-such-table",
        CREATE_TABLES="false",
    )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(
        line.startswith("FAIL dynamodb:DescribeTable no-such-table: ResourceNotFoundException")
        for line in lines
    )
    assert "FAIL CREATE_TABLES=false: table no-such-table does not exist" in lines
    assert any(line.startswith("FAIL s3:HeadBucket photos-missing") for line in lines)
    assert f"ok   dynamodb:DescribeTable {settings.dynamodb_users_table}" in lines


def test_a_refused_setting_is_one_line_not_a_traceback(settings: Settings, tmp_path: Path) -> None:
    result = run_check(settings, tmp_path, ENVIRONMENT="production", SECRET_KEY="short")
    assert result.returncode == 1
    assert result.stdout.startswith("FAIL settings:")
    assert "SECRET_KEY must be a random value" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_setup_runs_this_check_as_the_service_user() -> None:
    script = (ROOT / "setup_ec2.sh").read_text()
    assert '"$APP_DIR/scripts/check_aws_access.py"' in script
    assert '--property=User="$SERVICE_USER"' in script
    assert '--property=EnvironmentFile="$ENV_FILE"' in script
