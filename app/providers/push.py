"""Mobile push behind one interface: `log` (default: the message goes to the log) or `sns`.

A token the provider refuses (`EndpointDisabled`, `InvalidParameter`) raises `PushRejected`,
and the caller drops that device; any other failure is the provider being unavailable.
"""

import contextlib
import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from app.core.errors import DependencyUnavailableError

logger = logging.getLogger("dermalens.push")

# What SNS answers for a token that will never work again (app uninstalled, token rotated, garbage).
REJECTED_CODES = {"EndpointDisabled", "InvalidParameter", "InvalidParameterValue"}


class PushRejected(Exception):  # noqa: N818 - reads as the provider's verdict
    """The provider refused the device's token for good."""


@dataclass(frozen=True)
class PushMessage:
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)


class PushSender(Protocol):
    name: str

    def register(self, *, platform: str, token: str, user_id: str) -> str | None:
        """The provider's endpoint for a token (None when the provider needs none)."""
        ...

    def send(self, *, platform: str, token: str, endpoint: str | None, message: PushMessage) -> None: ...

    def unregister(self, *, endpoint: str | None) -> None: ...


def _token_hint(token: str) -> str:
    # Logs name a device by a hash: a push token is a credential for that phone.
    return hashlib.sha256(token.encode()).hexdigest()[:12]


class LogPush:
    """Development push: writes each message to the log (and keeps the last ones)."""

    name = "log"

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def register(self, *, platform: str, token: str, user_id: str) -> str | None:  # noqa: ARG002 - the PushSender signature
        return None

    def send(self, *, platform: str, token: str, endpoint: str | None, message: PushMessage) -> None:  # noqa: ARG002 - the PushSender signature
        self.sent = [*self.sent[-49:], {"platform": platform, "token": token, "title": message.title}]
        logger.info("push to %s device %s: %s", platform, _token_hint(token), message.title)

    def unregister(self, *, endpoint: str | None) -> None:  # noqa: ARG002 - the PushSender signature
        return None


class SnsPush:
    """Amazon SNS mobile push: one platform application per platform (APNs for iOS, FCM for Android)."""

    name = "sns"

    def __init__(self, *, client: Any, applications: dict[str, str]) -> None:
        self._sns = client
        self._applications = applications

    def register(self, *, platform: str, token: str, user_id: str) -> str | None:
        application = self._applications.get(platform)
        if not application:
            raise PushRejected(f"no SNS platform application is configured for {platform}")
        result = self._call(
            "create_platform_endpoint",
            PlatformApplicationArn=application,
            Token=token,
            CustomUserData=user_id,
        )
        return str(result["EndpointArn"])

    def send(self, *, platform: str, token: str, endpoint: str | None, message: PushMessage) -> None:  # noqa: ARG002 - the PushSender signature
        if not endpoint:
            raise PushRejected("the device has no SNS endpoint")
        alert = {"title": message.title, "body": message.body}
        payload = {
            "default": message.body,
            "APNS": json.dumps({"aps": {"alert": alert, "sound": "default"}, **message.data}),
            "APNS_SANDBOX": json.dumps({"aps": {"alert": alert, "sound": "default"}, **message.data}),
            "GCM": json.dumps({"notification": alert, "data": message.data}),
        }
        self._call("publish", TargetArn=endpoint, MessageStructure="json", Message=json.dumps(payload))

    def unregister(self, *, endpoint: str | None) -> None:
        if endpoint:
            # An endpoint SNS already dropped is as good as deleted.
            with contextlib.suppress(PushRejected):
                self._call("delete_endpoint", EndpointArn=endpoint)

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._sns, operation)(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in REJECTED_CODES or code == "NotFound":
                raise PushRejected(code) from exc
            raise DependencyUnavailableError("Push delivery is unavailable; try again shortly.") from exc
        except BotoCoreError as exc:
            raise DependencyUnavailableError("Push delivery is unavailable; try again shortly.") from exc
