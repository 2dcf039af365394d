"""Reading DynamoDB's JSON responses without botocore's per-attribute shape walk.

botocore parses a response by walking the operation's output shape node by node; for the
AttributeValue tree of a 20-scan page that is thousands of Python calls and most of the
request's CPU. DynamoDB's wire format *is* the AttributeValue form boto3 returns, apart from
binary values (base64 on the wire, bytes once parsed), so for the item-bearing operations we
decode the body with the C JSON parser and hand botocore an empty body to walk. Error
responses and every other operation keep botocore's own parsing.
"""

import base64
import json
import re
from typing import Any

# Operations whose successful output is items, keys and capacity figures: no timestamps or
# other values botocore would convert, so the JSON document is already the parsed response.
ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
    }
)
_EMPTY_BODY = b"{}"
# `"B":"…"` or `"BS":[…]`: a binary value (not "BOOL", nor a map attribute that is named B).
_BINARY_VALUE = re.compile(rb'"BS?"\s*:\s*[\["]')


def parse_item_response(
    operation_model: Any, response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """botocore `before-parse` handler: the parsed body goes into `customized_response_dict`."""
    if operation_model.name not in ITEM_OPERATIONS or response_dict.get("status_code") != 200:
        return
    body = response_dict.get("body")
    if not isinstance(body, bytes) or not body:
        return
    document = decode_body(body)
    if document is None:
        return  # not a JSON object (a proxy's page?): botocore's parser reports it as it always did
    customized_response_dict.update(document)
    response_dict["body"] = _EMPTY_BODY


def decode_body(body: bytes) -> dict[str, Any] | None:
    """An item operation's JSON body as boto3 returns it (binary values as bytes), or None."""
    try:
        document = json.loads(body)
        if isinstance(document, dict) and _BINARY_VALUE.search(body):
            document = _decode_binary(document)  # base64 → bytes, as botocore would
    except ValueError:  # not JSON, or not base64 (binascii.Error is a ValueError)
        return None
    return document if isinstance(document, dict) else None


def _decode_binary(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            kind, inner = next(iter(value.items()))
            if kind == "B" and isinstance(inner, str):
                return {"B": base64.b64decode(inner)}
            if kind == "BS" and isinstance(inner, list) and all(isinstance(v, str) for v in inner):
                return {"BS": [base64.b64decode(v) for v in inner]}
        return {key: _decode_binary(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_decode_binary(inner) for inner in value]
    return value


def install_fast_parsing(client: Any) -> None:
    """Register the handler on one DynamoDB client's event system."""
    client.meta.events.register("before-parse.dynamodb", parse_item_response)
