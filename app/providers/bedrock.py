"""The one place that builds AWS Bedrock Runtime clients and sorts their failures.

Credentials come from boto3's default chain (the EC2 instance role; no key anywhere).
Timeouts and retries are botocore's `Config`: `connect_timeout`/`read_timeout` per HTTP
attempt and `standard` retries (throttling, 5xx, timeouts, with jittered backoff) capped
at BEDROCK_MAX_ATTEMPTS attempts in all. A streamed answer is never retried once it
started: what was shown stays what was stored.
"""

import logging
from typing import Any

import boto3
import urllib3.exceptions
from botocore.config import Config
from botocore.eventstream import ParserError
from botocore.exceptions import BotoCoreError, ClientError

from app.core.config import Settings

logger = logging.getLogger("dermalens.bedrock")

# Bedrock said "not now": worth falling back to the local assistant, or retrying the scan later.
TRANSIENT_CODES = {
    "ThrottlingException",
    "ServiceUnavailableException",
    "InternalServerException",
    "ModelTimeoutException",
    "ModelNotReadyException",
    "ModelStreamErrorException",
    "ServiceQuotaExceededException",
}
# Everything that can go wrong between us and the model. ClientError covers every answered
# error (throttling, access denied, unknown model, ...; EventStreamError is one too);
# BotoCoreError the transport (timeouts, refused or closed connections). A stream read can
# also fail below botocore: urllib3 (connection cut mid-body) or the event-stream decoder.
CALL_ERRORS: tuple[type[Exception], ...] = (
    ClientError,
    BotoCoreError,
    urllib3.exceptions.HTTPError,
    ParserError,
    OSError,
)
# A 200 whose body does not fit the API's shapes makes botocore's parser itself fail with
# these (e.g. a string where a content block belongs). Caught only around a client call:
# the model answered, but with nothing decodable.
UNDECODABLE_ERRORS: tuple[type[Exception], ...] = (AttributeError, TypeError, ValueError, KeyError)
INVOKE_ACTION = "bedrock:InvokeModel"
STREAM_ACTION = "bedrock:InvokeModelWithResponseStream"


def bedrock_config(settings: Settings) -> Config:
    """Bounded timeouts and standard retries for every Bedrock call."""
    return Config(
        region_name=settings.bedrock_region_name,
        connect_timeout=settings.bedrock_connect_timeout_seconds,
        read_timeout=settings.bedrock_read_timeout_seconds,
        retries={"mode": "standard", "total_max_attempts": settings.bedrock_max_attempts},
        max_pool_connections=settings.aws_max_pool_connections,
    )


def bedrock_runtime_client(settings: Settings) -> Any:
    """A bedrock-runtime client from the default credential chain (built once per provider)."""
    kwargs: dict[str, Any] = {"config": bedrock_config(settings)}
    if settings.bedrock_endpoint_url:
        kwargs["endpoint_url"] = settings.bedrock_endpoint_url
    return boto3.session.Session().client("bedrock-runtime", **kwargs)


def error_code(exc: Exception) -> str:
    """The AWS error code, or the exception's type for transport failures."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or type(exc).__name__)
    return type(exc).__name__


def is_transient(exc: Exception) -> bool:
    """Throttled, busy, timed out or cut: the same request could work a little later."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return code in TRANSIENT_CODES or status == 429 or status >= 500
    return True


def describe_error(exc: Exception) -> str:
    """A short, secret-free description for logs (code and HTTP status, or the type)."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return f"{error_code(exc)} (HTTP {status})" if status else error_code(exc)
    return type(exc).__name__


def doctor_converse(*, client: Any, model_id: str, what: str) -> tuple[bool, str]:
    """A one-token Converse call: proves the endpoint, the credentials and `bedrock:InvokeModel`."""
    try:
        client.converse(
            modelId=model_id,
            messages=[{"role": "user", "content": [{"text": "ping"}]}],
            inferenceConfig={"maxTokens": 1},
        )
    except CALL_ERRORS + UNDECODABLE_ERRORS as exc:
        hint = ""
        if error_code(exc) == "AccessDeniedException":
            hint = f"; the instance role needs {INVOKE_ACTION} on this model (and model access enabled)"
        return False, f"bedrock {what} model {model_id} is not reachable: {describe_error(exc)}{hint}"
    return True, f"bedrock {what} model {model_id} answered (1-token converse, needs {INVOKE_ACTION})"
