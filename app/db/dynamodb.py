"""boto3 client, table definitions, `ensure_tables`, and the one item conversion helper."""

import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

from app.core.config import Settings
from app.db.wire import install_fast_parsing

if TYPE_CHECKING:  # the stubs are a dev dependency; at run time boto3 builds the class
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

logger = logging.getLogger("dermalens.db")

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


# botocore's standard retry mode: the delay before retry i (0-based) is at most
# min(scale * 2**i, 20 s), scale 1 s when throttled (25 ms for other DynamoDB errors).
_MAX_RETRY_DELAY_SECONDS = 20.0


def worst_case_call_seconds(settings: Settings) -> float:
    """The longest one DynamoDB call can take before it fails: every attempt times out.

    With the defaults (1 s connect, 3 s read, 3 attempts) that is 3 x 4 s + 3 s of backoff =
    15 s; a refused connection (DynamoDB down) fails in milliseconds per attempt instead.
    Once the standard mode's retry quota (500 tokens, 14 per retry, refilled by successes) is
    spent during an outage, calls stop retrying, so a long outage costs each call one attempt.
    With DYNAMODB_LEAN_READS the authentication read may first spend one lean attempt (then
    none for the next 10 s): 19 s with the defaults.
    """
    attempts = max(1, settings.aws_max_attempts)
    per_attempt = settings.aws_connect_timeout_seconds + settings.aws_read_timeout_seconds
    backoff = sum(min(2.0**retry, _MAX_RETRY_DELAY_SECONDS) for retry in range(attempts - 1))
    lean_attempt = per_attempt if settings.dynamodb_lean_reads else 0.0
    return lean_attempt + attempts * per_attempt + backoff


def aws_client_config(settings: Settings, **extra: Any) -> Config:
    """Timeouts, pool size and standard retries shared by every AWS client we build."""
    return Config(
        region_name=settings.aws_region,
        connect_timeout=settings.aws_connect_timeout_seconds,
        read_timeout=settings.aws_read_timeout_seconds,
        retries={"mode": "standard", "total_max_attempts": settings.aws_max_attempts},
        max_pool_connections=settings.aws_max_pool_connections,
        **extra,
    )


def dynamodb_session(settings: Settings) -> boto3.session.Session:
    """The session DynamoDB clients are built from; its credentials are the clients' own.

    No keys are read: boto3's default chain (the EC2 instance role) supplies credentials.
    DynamoDB Local accepts any signature, so on a loopback endpoint we sign with
    placeholder credentials instead of asking the machine for real ones.
    """
    if settings.uses_local_dynamodb:
        return boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local")
    return boto3.session.Session()


def build_dynamodb_client(
    settings: Settings, session: boto3.session.Session | None = None
) -> "DynamoDBClient":
    """One client per process: explicit timeouts, pool size and standard retries."""
    kwargs: dict[str, Any] = {"config": aws_client_config(settings)}
    if settings.aws_dynamodb_endpoint:
        kwargs["endpoint_url"] = settings.aws_dynamodb_endpoint
    client = (session or dynamodb_session(settings)).client("dynamodb", **kwargs)
    install_fast_parsing(client)
    return client


# ---- conversion: the only place Python values become DynamoDB attribute values ----


def _to_dynamo_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        # Nested None stays (as NULL) so a stored model reads back with the same fields.
        return {k: _to_dynamo_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_dynamo_value(v) for v in value]
    return value


def _from_dynamo_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo_value(v) for k, v in value.items()}
    if isinstance(value, (list, set)):
        return [_from_dynamo_value(v) for v in value]
    return value


def to_item(record: dict[str, Any]) -> dict[str, Any]:
    """Plain dict (floats, nested dicts) → DynamoDB item; `None` attributes are dropped."""
    return {
        key: _serializer.serialize(_to_dynamo_value(value))
        for key, value in record.items()
        if value is not None
    }


class StoredDocument(BaseModel):
    """A nested document of a stored item: dumps exactly the fields it was built or read with.

    Items written before a field existed read back (and answer) without it, so API bodies and
    exports stay what they were; unknown stored fields are kept for the same reason.
    """

    model_config = ConfigDict(extra="allow")

    @model_serializer(mode="wrap")
    def _as_stored(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        kept = self.model_fields_set | set(self.model_extra or {})
        return {key: value for key, value in data.items() if key in kept}


def to_attr(value: Any) -> "AttributeValueTypeDef":
    """One Python value → one DynamoDB attribute value (for keys and expressions)."""
    return _serializer.serialize(_to_dynamo_value(value))


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB item → plain dict with ints and floats, never `Decimal`; sets become lists."""
    return {key: _from_attr(value) for key, value in item.items()}


def _number(text: str) -> int | float:
    value = float(text)
    if not value.is_integer():
        return value
    if abs(value) < 2**53:  # exactly representable: the same int Decimal would give
        return int(value)
    return int(Decimal(text))


def _from_attr(value: dict[str, Any]) -> Any:
    # One pass over the attribute value (boto3's TypeDeserializer builds Decimals and sets
    # that a second pass would then convert): on a 20-scan page this is most of from_item.
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return inner
    if kind == "N":
        return _number(inner)
    if kind == "M":
        return {key: _from_attr(nested) for key, nested in inner.items()}
    if kind == "L":
        return [_from_attr(nested) for nested in inner]
    if kind == "NULL":
        return None
    if kind == "BOOL":
        return inner
    if kind == "SS":
        return list(inner)
    if kind == "NS":
        return [_number(n) for n in inner]
    return _from_dynamo_value(_deserializer.deserialize(value))  # type: ignore[arg-type]  # B, BS: Binary


# ---- tables ----


@dataclass(frozen=True)
class TableSpec:
    """What `ensure_tables` creates for one table."""

    logical_name: str
    partition_key: str
    sort_key: str | None = None
    string_attributes: tuple[str, ...] = ()
    global_indexes: tuple[tuple[str, str], ...] = ()  # (index name, partition key)
    local_indexes: tuple[tuple[str, str], ...] = ()  # (index name, sort key)
    ttl_attribute: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


TABLE_SPECS: tuple[TableSpec, ...] = (
    TableSpec("users", "user_id", global_indexes=(("email-index", "email"),)),
    TableSpec(
        "scans",
        "user_id",
        "scan_id",
        local_indexes=(("scan-date-index", "scan_date"),),
    ),
    TableSpec("plans", "user_id", "plan_id"),
    TableSpec(
        "chat",
        "user_id",
        "message_id",
        local_indexes=(("session-index", "session_key"),),
    ),
    TableSpec("records", "user_id", "sk", ttl_attribute="expires_at_epoch"),
)


def _create_table_request(spec: TableSpec, table_name: str) -> dict[str, Any]:
    key_schema = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
    attributes = {spec.partition_key}
    if spec.sort_key:
        key_schema.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
        attributes.add(spec.sort_key)
    request: dict[str, Any] = {
        "TableName": table_name,
        "KeySchema": key_schema,
        "BillingMode": "PAY_PER_REQUEST",
        "SSESpecification": {"Enabled": True},
    }
    if spec.global_indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": name,
                "KeySchema": [{"AttributeName": pk, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
            for name, pk in spec.global_indexes
        ]
        attributes.update(pk for _, pk in spec.global_indexes)
    if spec.local_indexes:
        request["LocalSecondaryIndexes"] = [
            {
                "IndexName": name,
                "KeySchema": [
                    {"AttributeName": spec.partition_key, "KeyType": "HASH"},
                    {"AttributeName": sk, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for name, sk in spec.local_indexes
        ]
        attributes.update(sk for _, sk in spec.local_indexes)
    request["AttributeDefinitions"] = [
        {"AttributeName": name, "AttributeType": "S"} for name in sorted(attributes)
    ]
    return request


def _table_exists(client: "DynamoDBClient", table_name: str) -> bool:
    try:
        client.describe_table(TableName=table_name)
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return False
        raise


def _request_optional_features(client: "DynamoDBClient", spec: TableSpec, table_name: str) -> None:
    """PITR and TTL: requested where the API allows; DynamoDB Local may refuse, which is fine."""
    try:
        client.update_continuous_backups(
            TableName=table_name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    except ClientError as exc:
        logger.info("point-in-time recovery not enabled on %s: %s", table_name, exc)
    if spec.ttl_attribute:
        try:
            client.update_time_to_live(
                TableName=table_name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
            )
        except ClientError as exc:
            logger.info("TTL not enabled on %s: %s", table_name, exc)


def ensure_tables(client: "DynamoDBClient", settings: Settings) -> list[str]:
    """Create the missing tables (on-demand, encrypted, PITR); returns the names created."""
    created = []
    for spec in TABLE_SPECS:
        table_name = settings.table_names[spec.logical_name]
        if _table_exists(client, table_name):
            continue
        logger.info("creating table %s", table_name)
        try:
            client.create_table(**_create_table_request(spec, table_name))
        except ClientError as exc:
            # Another instance created it between our describe and create.
            if exc.response["Error"]["Code"] != "ResourceInUseException":
                raise
        client.get_waiter("table_exists").wait(
            TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        _request_optional_features(client, spec, table_name)
        created.append(table_name)
    return created


class TablesNotReadyError(RuntimeError):
    """CREATE_TABLES=false and the tables are not what the code expects."""


def _spec_problems(spec: TableSpec, table_name: str, table: Any) -> list[str]:
    """What differs between one described table and its spec (keys and indexes)."""
    problems = []
    keys = {k["KeyType"]: k["AttributeName"] for k in table.get("KeySchema", [])}
    wanted = {"HASH": spec.partition_key, **({"RANGE": spec.sort_key} if spec.sort_key else {})}
    if keys != wanted:
        problems.append(f"table {table_name} has keys {keys}, expected {wanted}")
    have_gsi = {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])}
    have_lsi = {i["IndexName"] for i in table.get("LocalSecondaryIndexes", [])}
    for name, _ in spec.global_indexes:
        if name not in have_gsi:
            problems.append(f"table {table_name} lacks the global index {name}")
    for name, _ in spec.local_indexes:
        if name not in have_lsi:
            problems.append(f"table {table_name} lacks the local index {name}")
    return problems


def table_problems(client: "DynamoDBClient", settings: Settings) -> list[str]:
    """Every way the existing tables differ from TABLE_SPECS, one sentence each."""
    problems = []
    for spec in TABLE_SPECS:
        table_name = settings.table_names[spec.logical_name]
        try:
            table: Any = client.describe_table(TableName=table_name)["Table"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                problems.append(f"table {table_name} does not exist")
                continue
            raise
        if table.get("TableStatus") not in {"ACTIVE", "UPDATING"}:
            problems.append(f"table {table_name} is {table.get('TableStatus')}, not ACTIVE")
        problems.extend(_spec_problems(spec, table_name, table))
    return problems


def check_tables(client: "DynamoDBClient", settings: Settings) -> None:
    """CREATE_TABLES=false: the tables must already be as specified, or start-up stops here."""
    problems = table_problems(client, settings)
    if problems:
        raise TablesNotReadyError(
            "CREATE_TABLES=false but the tables are not ready: "
            + "; ".join(problems)
            + " (deploy deploy/cloudformation.yaml, check the DYNAMODB_*_TABLE names and "
            "AWS_REGION, or set CREATE_TABLES=true to let the app create them)"
        )


def tables_ready(client: "DynamoDBClient", settings: Settings) -> dict[str, bool]:
    """Each table's name → whether it exists and is ACTIVE."""
    status = {}
    for table_name in settings.table_names.values():
        try:
            description = client.describe_table(TableName=table_name)["Table"]
            status[table_name] = description["TableStatus"] == "ACTIVE"
        except ClientError:
            status[table_name] = False
    return status


def wait_for_dynamodb(client: "DynamoDBClient", *, timeout_seconds: float = 30.0) -> None:
    """Block until DynamoDB answers (the pre-start step), or raise TimeoutError."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            client.list_tables(Limit=1)
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(f"DynamoDB did not answer within {timeout_seconds}s") from exc
            time.sleep(0.2)


def prepare_tables(client: "DynamoDBClient", settings: Settings) -> list[str]:
    """Create the missing tables (CREATE_TABLES=true) or only check them (the stack owns them)."""
    if settings.create_tables:
        return ensure_tables(client, settings)
    check_tables(client, settings)
    return []
