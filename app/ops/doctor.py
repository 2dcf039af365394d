"""`python -m app.cli doctor`: is this machine's configuration able to serve users?

Each check says what it looked at in one line; a failed one says what to do. The checks
talk to the real services (DynamoDB, storage, the queue, the providers) with the same
clients the app builds, so a green report means the app will start and serve.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from app.core.config import Settings
from app.db.dynamodb import TABLE_SPECS, TableSpec

if TYPE_CHECKING:
    from app.bootstrap import Container

# What boto3 calls each source of credentials, in words an operator knows.
CREDENTIAL_SOURCES = {
    "iam-role": "the EC2 instance role (instance metadata)",
    "container-role": "the container's task role",
    "env": "environment variables (AWS_ACCESS_KEY_ID): not wanted on EC2, use the instance role",
    "shared-credentials-file": "~/.aws/credentials",
    "config-file": "~/.aws/config",
    "sso": "AWS SSO",
    "assume-role": "an assumed role (~/.aws/config)",
}


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    ok: bool
    detail: str


def aws_services_in_use(settings: Settings) -> list[str]:
    """The AWS services this configuration calls with real credentials."""
    services = [] if settings.uses_local_dynamodb else ["DynamoDB"]
    if settings.storage_backend == "s3":
        services.append("S3")
    if settings.analysis_queue == "sqs":
        services.append("SQS")
    if settings.mail_backend == "ses":
        services.append("SES")
    return services


def check_configuration(settings: Settings) -> Check:
    # Settings refuse unsafe combinations when they are built: reaching here means none.
    return Check(
        "configuration",
        True,
        f"ENVIRONMENT={settings.environment}, storage {settings.storage_backend}, "
        f"vision {settings.vision_provider}, chat {settings.chat_provider}, queue {settings.analysis_queue}",
    )


def check_credentials(settings: Settings) -> Check:
    services = aws_services_in_use(settings)
    if not services:
        return Check(
            "credentials",
            True,
            "none needed: DynamoDB Local takes placeholder credentials, no AWS service is used",
        )
    credentials = boto3.session.Session().get_credentials()
    if credentials is None:
        return Check(
            "credentials",
            False,
            f"{', '.join(services)} need AWS credentials and none were found; on EC2 attach the "
            "instance profile with the DermaLens role (deploy/iam-policy.json)",
        )
    source = CREDENTIAL_SOURCES.get(credentials.method, credentials.method)
    return Check("credentials", True, f"{', '.join(services)} signed with {source}")


def _index_names(description: dict[str, Any], field: str) -> set[str]:
    return {index["IndexName"] for index in description.get(field, [])}


def _table_problems(spec: TableSpec, description: dict[str, Any]) -> list[str]:
    problems = []
    keys = {key["KeyType"]: key["AttributeName"] for key in description["KeySchema"]}
    expected = {"HASH": spec.partition_key, **({"RANGE": spec.sort_key} if spec.sort_key else {})}
    if keys != expected:
        problems.append(f"keys {keys} instead of {expected}")
    for field, wanted in (
        ("GlobalSecondaryIndexes", {name for name, _ in spec.global_indexes}),
        ("LocalSecondaryIndexes", {name for name, _ in spec.local_indexes}),
    ):
        missing = wanted - _index_names(description, field)
        if missing:
            problems.append(f"missing index {', '.join(sorted(missing))}")
    if description.get("TableStatus") != "ACTIVE":
        problems.append(f"status {description.get('TableStatus')}")
    return problems


def check_tables(settings: Settings, client: Any) -> list[Check]:
    """DynamoDB answers, and every table has the designed keys and indexes."""
    where = settings.aws_dynamodb_endpoint or f"AWS DynamoDB in {settings.aws_region}"
    try:
        client.list_tables(Limit=1)
    except (ClientError, BotoCoreError) as exc:
        return [
            Check("dynamodb", False, f"{where} does not answer ({exc}); is it running, is AWS_REGION right?")
        ]
    checks = [Check("dynamodb", True, f"{where} answers")]
    for spec in TABLE_SPECS:
        table = settings.table_names[spec.logical_name]
        try:
            description = client.describe_table(TableName=table)["Table"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                checks.append(
                    Check(f"table {table}", False, "missing: run `python -m app.cli create-tables`")
                )
            else:
                checks.append(Check(f"table {table}", False, f"cannot be described ({exc})"))
            continue
        problems = _table_problems(spec, description)
        indexes = sorted(
            _index_names(description, "GlobalSecondaryIndexes")
            | _index_names(description, "LocalSecondaryIndexes")
        )
        detail = (
            "; ".join(problems)
            if problems
            else "ACTIVE" + (f", indexes {', '.join(indexes)}" if indexes else "")
        )
        checks.append(Check(f"table {table}", not problems, detail))
    return checks


def check_storage(settings: Settings, container: "Container") -> Check:
    where = (
        f"bucket {settings.s3_bucket_name}"
        if settings.storage_backend == "s3"
        else f"local dir {settings.dermalens_data_dir / 'images'}"
    )
    try:
        container.storage.check()
    except Exception as exc:  # noqa: BLE001 - the report names the failure instead of raising
        return Check("storage", False, f"{where} not reachable ({type(exc).__name__}: {exc})")
    return Check("storage", True, f"{where} reachable")


def check_queue(settings: Settings, container: "Container") -> Check:
    queue = container.job_queue
    if queue is None:
        return Check(
            "analysis queue",
            True,
            f"in-process, {settings.analysis_workers} worker(s) per API instance"
            + (" (none here: run `python -m app.worker`)" if settings.analysis_workers == 0 else ""),
        )
    ok, detail = queue.doctor_check()
    return Check("analysis queue", ok, detail)


def check_provider(kind: str, provider: Any) -> Check:
    """`provider.doctor_check()` when the provider has one (remote ones do); else its name."""
    name = getattr(provider, "name", type(provider).__name__)
    probe = getattr(provider, "doctor_check", None)
    if probe is None:
        return Check(f"{kind} provider", True, f"{name}: offline, nothing to reach")
    try:
        ok, detail = probe()
    except Exception as exc:  # noqa: BLE001
        return Check(f"{kind} provider", False, f"{name}: check crashed ({type(exc).__name__}: {exc})")
    return Check(f"{kind} provider", bool(ok), f"{name}: {detail}")


def run_doctor(settings: Settings, container: "Container") -> list[Check]:
    """Every check, in the order an operator would fix them."""
    return [
        check_configuration(settings),
        check_credentials(settings),
        *check_tables(settings, container.dynamodb),
        check_storage(settings, container),
        check_queue(settings, container),
        check_provider("vision", container.vision),
        check_provider("chat", container.chat_provider),
        check_provider("mail", container.mailer),
    ]


def render(checks: list[Check]) -> str:
    """The plain report: one line per check, then the verdict."""
    width = max(len(check.name) for check in checks)
    lines = [f"[{'ok' if c.ok else 'FAIL':>4}] {c.name:<{width}}  {c.detail}" for c in checks]
    failed = [c for c in checks if not c.ok]
    lines.append("all checks passed" if not failed else f"{len(failed)} check(s) failed")
    return "\n".join(lines)
