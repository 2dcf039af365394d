"""The fast response parsing and one-pass `from_item` give exactly what boto3 gives."""

from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer

from app.core.config import Settings
from app.db.dynamodb import build_dynamodb_client, from_item

TABLE = "wire-format-check"

ITEM: dict[str, Any] = {
    "pk": {"S": "user#1"},
    "sk": {"S": "scan#01"},
    "text": {"S": 'quotes " and unicode é ✓ and a "B" inside'},
    "int": {"N": "42"},
    "negative": {"N": "-7"},
    "float": {"N": "61.25"},
    "integral_float": {"N": "3.0"},
    "exponent": {"N": "1E+2"},
    "big": {"N": "123456789012345678901234567890"},
    "yes": {"BOOL": True},
    "nothing": {"NULL": True},
    "blob": {"B": b"\x00\x01binary\xff"},
    "blobs": {"BS": [b"a", b"\x00b"]},
    "strings": {"SS": ["acne", "redness"]},
    "numbers": {"NS": ["1", "2.5"]},
    "B": {"M": {"B": {"S": "an attribute named B is not binary"}}},
    "nested": {
        "M": {
            "angles": {
                "L": [
                    {"M": {"angle": {"S": "front"}, "scores": {"M": {"acne": {"N": "88.5"}}}}},
                    {"L": [{"N": "1"}, {"NULL": True}, {"BOOL": False}, {"B": b"\x10"}]},
                ]
            },
            "empty_map": {"M": {}},
            "empty_list": {"L": []},
        }
    },
}


def _plain_client(endpoint: str) -> Any:
    return boto3.session.Session().client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def put_sample_item(client: Any, table: str) -> None:
    """A pk/sk table (created if missing) holding ITEM."""
    if table not in client.list_tables()["TableNames"]:
        client.create_table(
            TableName=table,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    client.put_item(TableName=table, Item=ITEM)


@pytest.fixture(scope="module")
def clients(settings: Settings, dynamodb_endpoint: str) -> tuple[Any, Any]:
    plain = _plain_client(dynamodb_endpoint)
    fast = build_dynamodb_client(settings)
    put_sample_item(plain, TABLE)
    plain.put_item(TableName=TABLE, Item={**ITEM, "sk": {"S": "scan#02"}})
    return plain, fast


def _without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


def test_get_item_reads_back_every_attribute_type_as_boto3_does(clients: tuple[Any, Any]) -> None:
    plain, fast = clients
    key = {"pk": ITEM["pk"], "sk": ITEM["sk"]}
    expected = plain.get_item(TableName=TABLE, Key=key, ConsistentRead=True)
    answered = fast.get_item(TableName=TABLE, Key=key, ConsistentRead=True)
    assert _without_metadata(answered) == _without_metadata(expected)
    assert answered["Item"]["blob"]["B"] == b"\x00\x01binary\xff"
    assert answered["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_a_query_page_with_capacity_and_a_continuation_key_matches_boto3(clients: tuple[Any, Any]) -> None:
    plain, fast = clients
    query = {
        "TableName": TABLE,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": "user#1"}},
        "Limit": 1,
        "ReturnConsumedCapacity": "TOTAL",
    }
    expected = plain.query(**query)
    answered = fast.query(**query)
    assert _without_metadata(answered) == _without_metadata(expected)
    assert answered["LastEvaluatedKey"] == {"pk": ITEM["pk"], "sk": ITEM["sk"]}


def test_errors_are_still_parsed_by_botocore(clients: tuple[Any, Any]) -> None:
    _, fast = clients
    with pytest.raises(fast.exceptions.ResourceNotFoundException):
        fast.get_item(TableName="no-such-table-here", Key={"pk": {"S": "x"}})


def test_other_operations_keep_botocore_parsing(clients: tuple[Any, Any]) -> None:
    _, fast = clients
    described = fast.describe_table(TableName=TABLE)["Table"]
    assert described["CreationDateTime"].year >= 2024  # a datetime, as botocore parses it


def _two_pass(item: dict[str, Any]) -> dict[str, Any]:
    """What from_item returned before: boto3's deserializer, then Decimal → int/float, sets → lists."""

    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, set)):
            return [plain(v) for v in value]
        return value

    deserializer = TypeDeserializer()
    return {key: plain(deserializer.deserialize(value)) for key, value in item.items()}


def test_from_item_gives_the_values_the_two_pass_conversion_gave() -> None:
    converted = from_item(ITEM)
    before = _two_pass(ITEM)
    for name in ("strings", "numbers", "blobs"):  # sets: order is not kept by either
        assert sorted(map(repr, converted.pop(name))) == sorted(map(repr, before.pop(name)))
    assert converted == before
    assert converted["integral_float"] == 3
    assert isinstance(converted["integral_float"], int)
    assert converted["float"] == 61.25
    assert converted["exponent"] == 100
    assert converted["blob"] == Binary(b"\x00\x01binary\xff")


def test_a_body_that_is_not_json_is_left_to_botocore() -> None:
    from app.db.wire import parse_item_response

    class Operation:
        name = "GetItem"

    response = {"status_code": 200, "body": b"<html>gateway</html>"}
    customized: dict[str, Any] = {}
    parse_item_response(Operation(), response, customized)
    assert response["body"] == b"<html>gateway</html>"
    assert customized == {}
