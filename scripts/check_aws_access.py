"""Can this machine's credentials (the instance role) use DermaLens' tables and bucket?

setup_ec2.sh runs it as the service user with the service's env file, before starting the
service. Read-only: DescribeTable and a Query on a key no user has, per table; HeadBucket and
a one-key listing on the bucket. Prints one line per check; exit code 1 if any failed.

    .venv/bin/python scripts/check_aws_access.py
"""

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from app.core.config import Settings, get_settings
from app.db.dynamodb import build_dynamodb_client, table_problems
from app.providers.storage.s3 import build_s3_client

PROBE_USER = "__setup_check__"  # never a real user id (those are ULIDs)


def _reason(exc: Exception) -> str:
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials (is the instance profile attached?)"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


def _check(label: str, action: Callable[[], Any], out: list[str]) -> bool:
    try:
        action()
    except (ClientError, BotoCoreError) as exc:
        out.append(f"FAIL {label}: {_reason(exc)}")
        return False
    out.append(f"ok   {label}")
    return True


def run_checks(settings: Settings, *, dynamodb: Any = None, s3: Any = None) -> list[str]:
    """One line per check, `ok` or `FAIL ...`; clients may be passed in (tests)."""
    lines: list[str] = []
    client = dynamodb or build_dynamodb_client(settings)
    for table in settings.table_names.values():
        _check(f"dynamodb:DescribeTable {table}", lambda t=table: client.describe_table(TableName=t), lines)
        _check(
            f"dynamodb:Query {table}",
            lambda t=table: client.query(
                TableName=t,
                KeyConditionExpression="user_id = :u",
                ExpressionAttributeValues={":u": {"S": PROBE_USER}},
                Limit=1,
            ),
            lines,
        )
    if not settings.create_tables:
        try:
            problems = table_problems(client, settings)
        except (ClientError, BotoCoreError) as exc:
            problems = [_reason(exc)]
        lines.extend(f"FAIL CREATE_TABLES=false: {problem}" for problem in problems)
    if settings.storage_backend == "s3":
        bucket_client = s3 or build_s3_client(settings)
        bucket = settings.s3_bucket_name
        _check(f"s3:HeadBucket {bucket}", lambda: bucket_client.head_bucket(Bucket=bucket), lines)
        _check(
            f"s3:ListBucket {bucket}",
            lambda: bucket_client.list_objects_v2(Bucket=bucket, MaxKeys=1),
            lines,
        )
    else:
        lines.append(f"ok   storage: {settings.storage_backend} (no bucket to check)")
    return lines


def main() -> int:
    try:
        # Also reads SECRET_KEY / GEMINI_API_KEY from SSM or Secrets Manager when named.
        settings = get_settings()
    except Exception as exc:  # noqa: BLE001 - the operator needs the sentence, not a traceback
        print(f"FAIL settings: {exc}")
        return 1
    lines = run_checks(settings)
    print("\n".join(lines))
    return 1 if any(line.startswith("FAIL") for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
