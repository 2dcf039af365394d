"""deploy/iam-policy.json allows exactly what app/ calls, on the named tables and the bucket."""

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from app.core.config import Settings
from app.db.dynamodb import TABLE_SPECS
from tests.deploy.aws_calls import built_services, required_actions

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "deploy" / "iam-policy.json"
# Statements for a backend that is off by default carry `When...` Sids (EC2_DEPLOYMENT.md).
OPTIONAL_PREFIX = "When"


def statements() -> list[dict[str, Any]]:
    document = json.loads(POLICY.read_text())
    assert document["Version"] == "2012-10-17"
    return list(document["Statement"])


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def allowed() -> dict[str, list[dict[str, Any]]]:
    """IAM action → the statements allowing it."""
    by_action: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for statement in statements():
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            by_action[action].append(statement)
    return by_action


def test_every_aws_call_in_app_is_known_to_the_policy_test() -> None:
    _, problems = required_actions()
    assert problems == []


def test_the_policy_allows_every_action_the_code_needs() -> None:
    needed, _ = required_actions()
    missing = {action: sorted(places)[:3] for action, places in needed.items() if action not in allowed()}
    assert missing == {}


def test_the_policy_allows_nothing_the_code_does_not_call() -> None:
    needed, _ = required_actions()
    built = built_services()
    extra = []
    for action, granting in allowed().items():
        service = action.split(":")[0]
        if action in needed:
            continue
        if service not in built and all(s["Sid"].startswith(OPTIONAL_PREFIX) for s in granting):
            # A backend whose client is not in app/ yet (merged separately): allowed only in a
            # statement marked optional; once its client lands, its calls are held to this test.
            continue
        extra.append(action)
    assert extra == []


def test_no_wildcard_actions_and_only_list_tables_on_every_resource() -> None:
    for statement in statements():
        actions = as_list(statement["Action"])
        assert all("*" not in action for action in actions), statement["Sid"]
        if "*" in as_list(statement["Resource"]):
            assert actions == ["dynamodb:ListTables"], statement["Sid"]


def test_table_actions_name_each_table_and_only_the_indexes_that_exist() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    for action in ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:DescribeTable"):
        resources = {r for s in allowed()[action] for r in as_list(s["Resource"])}
        expected = set()
        for spec in TABLE_SPECS:
            table = f"arn:aws:dynamodb:*:*:table/{settings.table_names[spec.logical_name]}"
            expected.add(table)
            if spec.global_indexes or spec.local_indexes:
                expected.add(f"{table}/index/*")
        assert resources == expected, action


def test_object_actions_are_on_the_bucket_objects_and_listing_on_the_bucket() -> None:
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        assert [s["Resource"] for s in allowed()[action]] == ["arn:aws:s3:::YOUR-PHOTOS-BUCKET/*"]
    assert [s["Resource"] for s in allowed()["s3:ListBucket"]] == ["arn:aws:s3:::YOUR-PHOTOS-BUCKET"]


def test_bedrock_is_allowed_on_one_model_only() -> None:
    for action in ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"):
        (statement,) = allowed()[action]
        assert statement["Resource"] == "arn:aws:bedrock:*::foundation-model/YOUR-BEDROCK-MODEL-ID"


def test_every_optional_statement_is_documented_with_its_setting() -> None:
    guide = (ROOT / "EC2_DEPLOYMENT.md").read_text()
    optional = [s["Sid"] for s in statements() if s["Sid"].startswith(OPTIONAL_PREFIX)]
    assert len(optional) >= 6
    for sid in optional:
        assert f"`{sid}`" in guide, sid


def test_creating_tables_is_optional_so_the_stack_can_own_them() -> None:
    (statement,) = allowed()["dynamodb:CreateTable"]
    assert statement["Sid"] == "WhenCreateTablesTrue"
