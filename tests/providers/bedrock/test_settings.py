"""Choosing Bedrock by settings: region, model ids, bounded timeouts and retries, the fallback."""

from typing import Any

import pytest
from pydantic import ValidationError

from app.core.config import Settings
from app.providers.assistant import build_chat_provider, build_fallback_provider
from app.providers.assistant.bedrock import BedrockChatProvider
from app.providers.bedrock import bedrock_config
from app.providers.vision import build_vision_provider
from app.providers.vision.bedrock import BedrockVisionProvider


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(autouse=True)
def no_instance_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    # Building a client looks up no credentials yet; this only keeps a stray call off the network.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_bedrock_providers_are_built_from_settings() -> None:
    chosen = settings(chat_provider="bedrock", vision_provider="bedrock", aws_region="eu-central-1")
    chat = build_chat_provider(chosen)
    vision = build_vision_provider(chosen)
    assert isinstance(chat, BedrockChatProvider)
    assert isinstance(vision, BedrockVisionProvider)
    assert vision.model_version == "amazon.nova-lite-v1:0"
    # BEDROCK_REGION empty: the service's AWS_REGION.
    assert chat._client.meta.region_name == "eu-central-1"
    assert chat._client.meta.endpoint_url == "https://bedrock-runtime.eu-central-1.amazonaws.com"
    vision.close()


def test_region_timeouts_and_retries_are_bounded() -> None:
    config = bedrock_config(
        settings(
            bedrock_region="us-west-2",
            bedrock_connect_timeout_seconds=2,
            bedrock_read_timeout_seconds=20,
            bedrock_max_attempts=4,
        )
    )
    assert config.region_name == "us-west-2"
    assert (config.connect_timeout, config.read_timeout) == (2, 20)
    assert config.retries == {"mode": "standard", "total_max_attempts": 4}
    with pytest.raises(ValidationError):
        settings(bedrock_read_timeout_seconds=0)
    with pytest.raises(ValidationError):
        settings(bedrock_max_attempts=50)


def test_an_empty_model_id_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="CHAT_PROVIDER=bedrock needs its BEDROCK_"):
        settings(chat_provider="bedrock", bedrock_chat_model_id=" ")
    with pytest.raises(ValidationError, match="VISION_PROVIDER=bedrock needs its BEDROCK_"):
        settings(vision_provider="bedrock", bedrock_vision_model_id="")
    # Unused, an empty id is fine.
    assert settings(bedrock_chat_model_id="").chat_provider == "local"


def test_the_local_fallback_is_offered_for_bedrock_too() -> None:
    fallback = build_fallback_provider(settings(chat_provider="bedrock", chat_fallback_to_local=True))
    assert fallback is not None
    assert fallback.name == "local"
    assert build_fallback_provider(settings(chat_provider="bedrock")) is None
