"""Every AWS API call app/ makes, found in the source, and the IAM actions each one needs.

Calls are found by name, whatever the receiver: an attribute (`client.put_item`,
`self._s3.get_object`), an operation name handed to a dispatcher (`self._call("query", ...)`),
a paginator, waiter or presigned URL's operation, and the items of a transaction. Operation
names come from botocore's own service models, so a new call is found even when nobody
thought to list it; its IAM actions must then be added to METHOD_ACTIONS below, on purpose.
"""

import ast
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import botocore.session
from botocore import xform_name

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"

# The AWS services the policy covers (boto3 client name → IAM prefix).
SERVICES = {
    "dynamodb": "dynamodb",
    "s3": "s3",
    "ses": "ses",
    "sesv2": "ses",
    "sns": "sns",
    "sqs": "sqs",
    "ssm": "ssm",
    "secretsmanager": "secretsmanager",
    "bedrock-runtime": "bedrock",
}

# boto3 method → the IAM actions it needs. IAM names are not always the method's (HeadBucket is
# s3:ListBucket, Converse is bedrock:InvokeModel), so each one is written down here; a method
# found in app/ but missing from this table fails the policy test until someone adds it (and
# the action to deploy/iam-policy.json and deploy/cloudformation.yaml).
METHOD_ACTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "dynamodb": {
        "batch_write_item": ("dynamodb:BatchWriteItem",),
        "batch_get_item": ("dynamodb:BatchGetItem",),
        "create_table": ("dynamodb:CreateTable",),
        "delete_item": ("dynamodb:DeleteItem",),
        "describe_table": ("dynamodb:DescribeTable",),
        "describe_time_to_live": ("dynamodb:DescribeTimeToLive",),
        "describe_continuous_backups": ("dynamodb:DescribeContinuousBackups",),
        "get_item": ("dynamodb:GetItem",),
        "list_tables": ("dynamodb:ListTables",),
        "put_item": ("dynamodb:PutItem",),
        "query": ("dynamodb:Query",),
        # Authorised item by item: see TRANSACT_ITEM_ACTIONS.
        "transact_write_items": (),
        "transact_get_items": ("dynamodb:GetItem",),
        "update_continuous_backups": ("dynamodb:UpdateContinuousBackups",),
        "update_item": ("dynamodb:UpdateItem",),
        "update_time_to_live": ("dynamodb:UpdateTimeToLive",),
    },
    "s3": {
        "delete_object": ("s3:DeleteObject",),
        "delete_objects": ("s3:DeleteObject",),
        "get_object": ("s3:GetObject",),
        "head_bucket": ("s3:ListBucket",),
        "head_object": ("s3:GetObject",),
        "list_objects_v2": ("s3:ListBucket",),
        "put_object": ("s3:PutObject",),
    },
    "ses": {"send_email": ("ses:SendEmail",), "send_raw_email": ("ses:SendRawEmail",)},
    "sesv2": {"send_email": ("ses:SendEmail",)},
    "sns": {
        "create_platform_endpoint": ("sns:CreatePlatformEndpoint",),
        "delete_endpoint": ("sns:DeleteEndpoint",),
        "get_endpoint_attributes": ("sns:GetEndpointAttributes",),
        "publish": ("sns:Publish",),
        "set_endpoint_attributes": ("sns:SetEndpointAttributes",),
    },
    "sqs": {
        "change_message_visibility": ("sqs:ChangeMessageVisibility",),
        "change_message_visibility_batch": ("sqs:ChangeMessageVisibility",),
        "delete_message": ("sqs:DeleteMessage",),
        "delete_message_batch": ("sqs:DeleteMessage",),
        "get_queue_attributes": ("sqs:GetQueueAttributes",),
        "get_queue_url": ("sqs:GetQueueUrl",),
        "receive_message": ("sqs:ReceiveMessage",),
        "send_message": ("sqs:SendMessage",),
        "send_message_batch": ("sqs:SendMessage",),
    },
    "ssm": {"get_parameter": ("ssm:GetParameter",), "get_parameters": ("ssm:GetParameters",)},
    "secretsmanager": {"get_secret_value": ("secretsmanager:GetSecretValue",)},
    "bedrock-runtime": {
        "converse": ("bedrock:InvokeModel",),
        "converse_stream": ("bedrock:InvokeModelWithResponseStream",),
        "invoke_model": ("bedrock:InvokeModel",),
        "invoke_model_with_response_stream": ("bedrock:InvokeModelWithResponseStream",),
    },
}
# Client helpers that are not operations themselves (their operation is found separately).
HELPERS = {"get_paginator", "get_waiter", "generate_presigned_post", "generate_presigned_url", "can_paginate"}
# A presigned POST is an upload: S3 checks s3:PutObject against the role that signed it.
PRESIGNED_POST_ACTIONS = ("s3:PutObject",)
WAITER_OPERATIONS = {
    "table_exists": "describe_table",
    "table_not_exists": "describe_table",
    "bucket_exists": "head_bucket",
    "object_exists": "head_object",
}
# TransactWriteItems has no IAM action of its own: each item needs its single-item action.
TRANSACT_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
# Calls through a dispatcher that takes the operation's name (`self._call("query", ...)`).
DISPATCHERS = {"_call", "call"}


@lru_cache
def operations() -> dict[str, set[str]]:
    """boto3 method name → the services (of SERVICES) that have that operation."""
    session = botocore.session.get_session()
    found: dict[str, set[str]] = defaultdict(set)
    for service in SERVICES:
        for name in session.get_service_model(service).operation_names:
            found[xform_name(name)].add(service)
    return dict(found)


@dataclass
class Scan:
    """What the source of app/ calls."""

    services: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # service → files
    calls: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # method → "file:line"
    transact_items: set[str] = field(default_factory=set)
    presigned_posts: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)


def _func_name(node: ast.Call) -> str:
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    if isinstance(node.func, ast.Name):
        return node.func.id
    return ""


def _first_string(node: ast.Call) -> str | None:
    if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        return node.args[0].value
    return None


def _scan_file(path: Path, scan: Scan) -> None:
    ops = operations()
    where = lambda node: f"{path.relative_to(ROOT)}:{node.lineno}"  # noqa: E731
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name, first = _func_name(node), _first_string(node)
            if name in {"client", "clients"} and first is not None:
                if first in SERVICES:
                    scan.services[first].add(where(node))
                else:
                    scan.unknown.append(
                        f"{where(node)}: a boto3 client for {first!r}, a service the policy does not cover"
                    )
            elif (name in DISPATCHERS and first in ops) or (name == "get_paginator" and first is not None):
                scan.calls[first].add(where(node))
            elif name == "get_waiter" and first is not None:
                if first in WAITER_OPERATIONS:
                    scan.calls[WAITER_OPERATIONS[first]].add(where(node))
                else:
                    scan.unknown.append(f"{where(node)}: waiter {first!r} is not in WAITER_OPERATIONS")
            elif name == "generate_presigned_post":
                scan.presigned_posts.add(where(node))
            for keyword in node.keywords:
                value = keyword.value
                if (
                    keyword.arg == "ClientMethod"
                    and isinstance(value, ast.Constant)
                    and isinstance(value.value, str)
                ):
                    scan.calls[value.value].add(where(node))
        elif isinstance(node, ast.Attribute) and node.attr in ops:
            receiver = ast.unparse(node.value)
            # `self._storage.list_objects` is the app's own ImageStorage interface, not S3's.
            if "storage" not in receiver.lower():
                scan.calls[node.attr].add(where(node))
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if (
                    isinstance(key, ast.Constant)
                    and key.value in TRANSACT_ITEM_ACTIONS
                    and isinstance(value, ast.Dict)
                ):
                    scan.transact_items.add(str(key.value))


@lru_cache
def scan_app() -> Scan:
    scan = Scan()
    for path in sorted(APP.rglob("*.py")):
        _scan_file(path, scan)
    return scan


def required_actions() -> tuple[dict[str, set[str]], list[str]]:
    """IAM action → where in app/ it is needed, and every call this table cannot map."""
    scan = scan_app()
    needed: dict[str, set[str]] = defaultdict(set)
    problems = list(scan.unknown)
    for method, places in sorted(scan.calls.items()):
        services = operations().get(method, set()) & set(scan.services)
        if method in HELPERS:
            continue
        if not services:
            problems.append(
                f"{method} ({sorted(places)[0]}): no client of a service with this operation is built in app/"
            )
            continue
        mapped = [METHOD_ACTIONS.get(service, {}).get(method) for service in sorted(services)]
        if all(actions is None for actions in mapped):
            problems.append(
                f"{method} ({sorted(places)[0]}) on {sorted(services)}: unknown to the policy test; add its IAM "
                "actions to METHOD_ACTIONS (tests/deploy/aws_calls.py), deploy/iam-policy.json and "
                "deploy/cloudformation.yaml"
            )
            continue
        for actions in mapped:
            for action in actions or ():
                needed[action].update(places)
    if "transact_write_items" in scan.calls:
        for item in scan.transact_items:
            needed[TRANSACT_ITEM_ACTIONS[item]].add("a TransactWriteItems item")
    for action in PRESIGNED_POST_ACTIONS if scan.presigned_posts else ():
        needed[action].update(scan.presigned_posts)
    return dict(needed), problems


def built_services() -> set[str]:
    """IAM prefixes of the services app/ builds a client for."""
    return {SERVICES[service] for service in scan_app().services}
