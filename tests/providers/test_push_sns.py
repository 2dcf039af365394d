"""SNS mobile push against moto's server (real HTTP), with the real feed and devices in
DynamoDB Local: a token SNS refuses (EndpointDisabled, InvalidParameter) is dropped."""

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from app.bootstrap import build_push
from app.core.errors import UnprocessableError
from app.notifications.repository import NotificationsRepository
from app.notifications.service import NotificationService
from app.preferences.repository import PreferencesRepository
from app.preferences.service import PreferencesService
from app.providers.push import SnsPush
from tests.conftest import make_settings
from tests.moto_server import moto_server

ANDROID_TOKEN = "fcm-token-" + "x" * 60


@pytest.fixture(scope="module")
def sns_client() -> Iterator[Any]:
    with moto_server() as endpoint:
        # moto accepts any credentials; real deployments use the instance role.
        yield boto3.session.Session().client(
            "sns",
            region_name="us-east-1",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@pytest.fixture(scope="module")
def android_app(sns_client: Any) -> str:
    arn: str = sns_client.create_platform_application(
        Name="dermalens-android", Platform="GCM", Attributes={"PlatformCredential": "server-key"}
    )["PlatformApplicationArn"]
    return arn


def service_with(push: SnsPush, container: Any, settings: Any) -> NotificationService:
    names = settings.table_names
    return NotificationService(
        notifications=NotificationsRepository(container.dynamodb, names["records"], names["users"]),
        preferences=PreferencesService(
            preferences=PreferencesRepository(container.dynamodb, names["records"], names["users"])
        ),
        push=push,
        ttl_days=30,
    )


def endpoints(sns_client: Any, app_arn: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = sns_client.list_endpoints_by_platform_application(
        PlatformApplicationArn=app_arn
    )["Endpoints"]
    return found


def test_a_registered_device_gets_pushes_until_sns_disables_its_endpoint(
    sns_client: Any, android_app: str, container: Any, settings: Any, user_id: str
) -> None:
    service = service_with(
        SnsPush(client=sns_client, applications={"android": android_app}), container, settings
    )
    device = service.register_device(user_id=user_id, platform="android", token=ANDROID_TOKEN, name="Pixel")
    [endpoint] = [e for e in endpoints(sns_client, android_app) if e["EndpointArn"] == device.endpoint_arn]
    assert endpoint["Attributes"]["Token"] == ANDROID_TOKEN
    assert endpoint["Attributes"]["Enabled"] == "true"

    assert (
        service.make(user_id=user_id, kind="rescan_due", title="Scan again", body="It is time.") is not None
    )
    assert [d.device_id for d in service.devices(user_id=user_id)] == [device.device_id]

    # The app was uninstalled: SNS marks the endpoint disabled, and the next push drops it.
    sns_client.set_endpoint_attributes(EndpointArn=device.endpoint_arn, Attributes={"Enabled": "false"})
    made = service.make(user_id=user_id, kind="rescan_due", title="Scan again", body="Still time.")
    assert made is not None  # the feed item is kept
    assert service.devices(user_id=user_id) == []
    assert device.endpoint_arn not in {e["EndpointArn"] for e in endpoints(sns_client, android_app)}


def test_a_token_sns_calls_invalid_is_dropped_at_send_and_refused_at_registration(
    container: Any, settings: Any, user_id: str
) -> None:
    client = boto3.session.Session().client(
        "sns", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    arn = "arn:aws:sns:us-east-1:123456789012:app/GCM/dermalens-android"
    endpoint = f"{arn.replace(':app/', ':endpoint/')}/1"
    service = service_with(SnsPush(client=client, applications={"android": arn}), container, settings)
    with Stubber(client) as stub:
        stub.add_response("create_platform_endpoint", {"EndpointArn": endpoint})
        stub.add_client_error("publish", service_error_code="InvalidParameter", http_status_code=400)
        stub.add_response("delete_endpoint", {})
        stub.add_client_error(
            "create_platform_endpoint", service_error_code="InvalidParameter", http_status_code=400
        )
        service.register_device(user_id=user_id, platform="android", token=ANDROID_TOKEN, name=None)
        service.make(user_id=user_id, kind="plan_unlocked", title="Unlocked", body="b")
        assert service.devices(user_id=user_id) == []
        with pytest.raises(UnprocessableError) as refused:
            service.register_device(user_id=user_id, platform="android", token="garbage-token", name=None)
        assert refused.value.code == "device_token_rejected"
        assert service.devices(user_id=user_id) == []
        stub.assert_no_pending_responses()


def test_push_backend_sns_needs_a_platform_application(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="PUSH_BACKEND=sns needs"):
        make_settings("http://127.0.0.1:1", tmp_path, push_backend="sns")
    settings = make_settings(
        "http://127.0.0.1:1", tmp_path, push_backend="sns", sns_platform_application_arn_ios="arn:aws:sns:x"
    )
    assert build_push(settings).name == "sns"
