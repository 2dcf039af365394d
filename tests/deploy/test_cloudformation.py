"""deploy/cloudformation.yaml: valid for cfn-lint, the tables the app expects, the policy file's grants."""

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.api import ManualArgs, lint_file
from cfnlint.decode import decode_str
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.security import new_id
from app.db.dynamodb import TABLE_SPECS, TablesNotReadyError, TableSpec, check_tables, table_problems
from app.db.keys import RAW_UPLOADS_ROOT
from app.main import create_app
from scripts.s3_lifecycle import RULE_ID
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "cloudformation.yaml"
POLICY = ROOT / "deploy" / "iam-policy.json"
TABLE_RESOURCES = {
    "users": "UsersTable",
    "scans": "ScansTable",
    "plans": "PlansTable",
    "chat": "ChatTable",
    "records": "RecordsTable",
}


def template() -> dict[str, Any]:
    data, problems = decode_str(TEMPLATE.read_text())
    assert problems == []
    return dict(data)


def resource(name: str) -> dict[str, Any]:
    return dict(template()["Resources"][name])


def props(name: str) -> dict[str, Any]:
    return dict(resource(name)["Properties"])


def test_cfn_lint_finds_nothing() -> None:
    # Every region cfn-lint knows, so a resource missing in one region shows up too.
    matches = lint_file(TEMPLATE, ManualArgs(regions=["us-east-1", "eu-west-1", "ap-southeast-2"]))
    assert [str(match) for match in matches] == []


# ---- tables: the template's and TABLE_SPECS (what ensure_tables creates) must be one design ----


def keys_of(key_schema: list[dict[str, str]]) -> tuple[str, str | None]:
    roles = {k["KeyType"]: k["AttributeName"] for k in key_schema}
    return roles["HASH"], roles.get("RANGE")


@pytest.mark.parametrize("spec", TABLE_SPECS, ids=lambda spec: spec.logical_name)
def test_each_table_matches_its_spec(spec: TableSpec) -> None:
    table = props(TABLE_RESOURCES[spec.logical_name])
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    parameter = table["TableName"]["Ref"]
    assert template()["Parameters"][parameter]["Default"] == defaults.table_names[spec.logical_name]
    assert keys_of(table["KeySchema"]) == (spec.partition_key, spec.sort_key)
    gsis = {i["IndexName"]: keys_of(i["KeySchema"])[0] for i in table.get("GlobalSecondaryIndexes", [])}
    assert gsis == dict(spec.global_indexes)
    lsis = {i["IndexName"]: keys_of(i["KeySchema"]) for i in table.get("LocalSecondaryIndexes", [])}
    assert lsis == {name: (spec.partition_key, sk) for name, sk in spec.local_indexes}
    for index in [*table.get("GlobalSecondaryIndexes", []), *table.get("LocalSecondaryIndexes", [])]:
        assert index["Projection"] == {"ProjectionType": "ALL"}  # as ensure_tables creates them
    ttl = table.get("TimeToLiveSpecification")
    assert (ttl["AttributeName"] if ttl and ttl["Enabled"] else None) == spec.ttl_attribute
    key_attributes = {spec.partition_key, spec.sort_key, *dict(spec.global_indexes).values()}
    key_attributes |= set(dict(spec.local_indexes).values())
    assert {a["AttributeName"] for a in table["AttributeDefinitions"]} == key_attributes - {None}
    assert all(a["AttributeType"] == "S" for a in table["AttributeDefinitions"])


@pytest.mark.parametrize("name", TABLE_RESOURCES.values())
def test_tables_are_on_demand_encrypted_recoverable_and_kept(name: str) -> None:
    table = resource(name)
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True}


def test_every_table_spec_is_in_the_template() -> None:
    assert set(TABLE_RESOURCES) == {spec.logical_name for spec in TABLE_SPECS}


def create_request(table: dict[str, Any], name: str) -> dict[str, Any]:
    """The template's table as a CreateTable request (the same shape, bar a few names)."""
    request = {
        key: table[key]
        for key in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes")
        if key in table
    }
    return {**request, "TableName": name, "BillingMode": table["BillingMode"]}


@pytest.fixture
def stack_tables(dynamodb_endpoint: str, data_dir: Path) -> tuple[Settings, Any]:
    """The template's five tables, created as they are defined, under fresh names."""
    suffix = new_id().lower()[-8:]
    names = {
        f"dynamodb_{key}_table": f"stack-{key}-{suffix}"
        for key in ("users", "scans", "plans", "chat", "records")
    }
    settings = make_settings(dynamodb_endpoint, data_dir, create_tables=False, **names)
    client = boto3.client(
        "dynamodb",
        endpoint_url=dynamodb_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    for logical, resource_name in TABLE_RESOURCES.items():
        client.create_table(**create_request(props(resource_name), settings.table_names[logical]))
    return settings, client


def test_tables_made_from_the_template_pass_the_start_up_check(stack_tables: tuple[Settings, Any]) -> None:
    settings, client = stack_tables
    assert table_problems(client, settings) == []
    with TestClient(create_app(settings)) as http:
        assert http.get("/health/ready").status_code == 200
        # The app really uses them: a user can register into the stack's tables.
        body = {"email": f"stack-{new_id().lower()}@example.com", "password": "correct horse battery"}
        assert http.post("/api/v1/auth/register", json=body).status_code == 201


def test_without_create_tables_a_missing_table_stops_start_up_with_the_fix(
    stack_tables: tuple[Settings, Any],
) -> None:
    settings, client = stack_tables
    client.delete_table(TableName=settings.dynamodb_chat_table)
    client.get_waiter("table_not_exists").wait(TableName=settings.dynamodb_chat_table)
    with pytest.raises(TablesNotReadyError) as caught:
        check_tables(client, settings)
    message = str(caught.value)
    assert f"table {settings.dynamodb_chat_table} does not exist" in message
    assert "deploy/cloudformation.yaml" in message
    assert "CREATE_TABLES=true" in message
    with pytest.raises(TablesNotReadyError), TestClient(create_app(settings)):
        pass
    # Nothing was created behind the operator's back.
    assert settings.dynamodb_chat_table not in client.list_tables()["TableNames"]


def test_a_table_without_its_index_is_named(stack_tables: tuple[Settings, Any]) -> None:
    settings, client = stack_tables
    client.delete_table(TableName=settings.dynamodb_scans_table)
    client.get_waiter("table_not_exists").wait(TableName=settings.dynamodb_scans_table)
    bare = create_request(props("ScansTable"), settings.dynamodb_scans_table)
    bare.pop("LocalSecondaryIndexes")
    bare["AttributeDefinitions"] = [
        a for a in bare["AttributeDefinitions"] if a["AttributeName"] != "scan_date"
    ]
    client.create_table(**bare)
    assert table_problems(client, settings) == [
        f"table {settings.dynamodb_scans_table} lacks the local index scan-date-index"
    ]


# ---- bucket ----


def test_the_bucket_is_private_encrypted_and_expires_abandoned_uploads() -> None:
    bucket = props("PhotosBucket")
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Id"] == RULE_ID  # the rule scripts/s3_lifecycle.py manages, so they never fight
    assert rule["Prefix"] == RAW_UPLOADS_ROOT
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == {"Ref": "RawUploadExpiryDays"}
    (cors,) = bucket["CorsConfiguration"]["CorsRules"]
    assert "POST" in cors["AllowedMethods"]  # presigned POST uploads
    assert "*" not in cors["AllowedOrigins"]
    assert resource("PhotosBucket")["DeletionPolicy"] == "Retain"


def test_the_bucket_refuses_plain_http() -> None:
    (statement,) = props("PhotosBucketPolicy")["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# ---- queue ----


def test_the_analysis_queue_dead_letters_after_n_receives_and_outlasts_a_claim() -> None:
    queue = resource("AnalysisQueue")
    assert queue["Condition"] == resource("AnalysisDeadLetterQueue")["Condition"] == "QueueOn"
    redrive = queue["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["AnalysisDeadLetterQueue", "Arn"]}
    assert redrive["maxReceiveCount"] == {"Ref": "AnalysisMaxReceives"}
    visibility = template()["Parameters"]["AnalysisVisibilitySeconds"]["Default"]
    # A message reappears only after the DynamoDB claim it guards has expired.
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert int(visibility) > defaults.analysis_lease_seconds
    # The app's own visibility timeout on receive is the one that applies; keep them alike.
    assert int(visibility) == defaults.sqs_visibility_timeout_seconds
    assert queue["Properties"]["ReceiveMessageWaitTimeSeconds"] == 20  # long polling


# ---- role: the statements of deploy/iam-policy.json, with this stack's ARNs ----


def role_statements() -> dict[str, tuple[dict[str, Any], str | None]]:
    """Sid → (statement, the condition it is under, or None)."""
    (policy,) = props("InstanceRole")["Policies"]
    found: dict[str, tuple[dict[str, Any], str | None]] = {}
    for entry in policy["PolicyDocument"]["Statement"]:
        if "Fn::If" in entry:
            condition, statement, otherwise = entry["Fn::If"]
            assert otherwise == {"Ref": "AWS::NoValue"}
            found[statement["Sid"]] = (statement, condition)
        else:
            found[entry["Sid"]] = (entry, None)
    return found


def test_the_role_grants_what_the_policy_file_grants() -> None:
    in_file = {s["Sid"]: sorted(s["Action"]) for s in json.loads(POLICY.read_text())["Statement"]}
    in_stack = {sid: sorted(statement["Action"]) for sid, (statement, _) in role_statements().items()}
    assert in_stack == in_file


def test_optional_statements_are_under_a_condition_and_the_rest_are_not() -> None:
    for sid, (_, condition) in role_statements().items():
        assert (condition is not None) == sid.startswith("When"), sid
    assert role_statements()["WhenProviderBedrock"][1] == "BedrockOn"
    assert role_statements()["WhenCreateTablesTrue"][1] == "AppCreatesTablesOn"


def test_the_role_is_for_ec2_and_has_an_instance_profile() -> None:
    (trust,) = props("InstanceRole")["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert props("InstanceProfile")["Roles"] == [{"Ref": "InstanceRole"}]
