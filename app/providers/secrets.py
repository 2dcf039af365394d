"""SECRET_KEY and GEMINI_API_KEY read through the instance role from SSM or Secrets Manager.

A setting names the parameter or secret (`SECRET_KEY_SSM_PARAMETER`, `..._SECRET_ID`); the
value is read once at start-up and put into the one settings object, so no secret has to
sit in the env file. Any failure stops start-up with a sentence saying what to fix.
"""

import json
import logging
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from app.core.config import Settings
from app.db.dynamodb import aws_client_config

logger = logging.getLogger("dermalens.secrets")

ClientFactory = Callable[[str], Any]


class SecretUnavailableError(RuntimeError):
    """A named secret could not be read; the message says which setting and what to do."""


def build_secrets_client(settings: Settings) -> ClientFactory:
    """A factory of `ssm` / `secretsmanager` clients on boto3's default chain (the role)."""
    session = boto3.session.Session()

    def factory(service: str) -> Any:
        return session.client(service, config=aws_client_config(settings))  # type: ignore[call-overload]

    return factory


def _read_ssm(client: Any, name: str) -> str:
    response = client.get_parameter(Name=name, WithDecryption=True)
    return str(response["Parameter"]["Value"])


def _read_secret(client: Any, secret_id: str, setting: str) -> str:
    response = client.get_secret_value(SecretId=secret_id)
    text = response.get("SecretString")
    if text is None:
        raise SecretUnavailableError(
            f"{setting}_SECRET_ID={secret_id}: the secret holds binary data, not text"
        )
    # A JSON object secret (the console's key/value form) holds the value under the setting's name.
    try:
        document = json.loads(text)
    except ValueError:
        return str(text)
    if isinstance(document, dict):
        if setting not in document:
            raise SecretUnavailableError(
                f"{setting}_SECRET_ID={secret_id}: the secret is a JSON object without a "
                f"{setting!r} key (store the plain value, or add that key)"
            )
        return str(document[setting])
    return str(text)


def _explain(setting: str, where: str, exc: Exception, region: str) -> SecretUnavailableError:
    """Turn an AWS failure into the sentence an operator can act on."""
    if isinstance(exc, NoCredentialsError):
        return SecretUnavailableError(
            f"{where}: no AWS credentials (attach the instance profile from deploy/cloudformation.yaml)"
        )
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in {"ParameterNotFound", "ResourceNotFoundException"}:
            return SecretUnavailableError(f"{where}: not found in {region}; create it or fix the name")
        if code in {"AccessDeniedException", "AccessDenied"}:
            return SecretUnavailableError(
                f"{where}: access denied; the instance role needs the read statement for "
                f"{setting} in deploy/iam-policy.json"
            )
        return SecretUnavailableError(f"{where}: AWS answered {code or 'an error'}")
    return SecretUnavailableError(f"{where}: AWS did not answer ({type(exc).__name__})")


def _fetch(source: str, setting: str, clients: ClientFactory, region: str) -> str:
    kind, _, name = source.partition(":")
    where = f"{setting}_SSM_PARAMETER={name}" if kind == "ssm" else f"{setting}_SECRET_ID={name}"
    try:
        if kind == "ssm":
            value = _read_ssm(clients("ssm"), name)
        else:
            value = _read_secret(clients("secretsmanager"), name, setting)
    except (ClientError, BotoCoreError) as exc:
        raise _explain(setting, where, exc, region) from exc
    value = value.strip()
    if not value:
        raise SecretUnavailableError(f"{where}: the stored value is empty")
    logger.info("read %s from %s", setting, kind, extra={"setting": setting, "source": kind})
    return value


def resolve_secrets(settings: Settings, *, clients: ClientFactory | None = None) -> Settings:
    """Settings with the named secrets filled in, validated again; unchanged when none is named."""
    wanted = {
        "secret_key": ("SECRET_KEY", settings.secret_key_source),
        "gemini_api_key": ("GEMINI_API_KEY", settings.gemini_api_key_source),
    }
    sources = {field: pair for field, pair in wanted.items() if pair[1]}
    if not sources:
        return settings
    factory = clients or build_secrets_client(settings)
    values = {
        field: _fetch(source, setting, factory, settings.aws_region)
        for field, (setting, source) in sources.items()
    }
    # Validate the whole object again: a short key read from SSM is refused like one in the file.
    data = {**settings.model_dump(), **values}
    for field in values:
        # The value is here now; the name of its source would read as a second source.
        data[f"{field}_ssm_parameter"] = ""
        data[f"{field}_secret_id"] = ""
    return Settings(_env_file=None, **data)
