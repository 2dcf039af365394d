"""Assistant providers, chosen by CHAT_PROVIDER."""

from app.core.config import Settings
from app.providers.assistant.base import ChatProvider

__all__ = ["ChatProvider", "build_chat_provider", "build_fallback_provider"]


def build_chat_provider(settings: Settings) -> ChatProvider:
    """The configured provider; a cloud SDK is imported only when it is used."""
    if settings.chat_provider == "gemini":
        from app.providers.assistant.gemini import GeminiChatProvider

        return GeminiChatProvider.from_settings(settings)
    if settings.chat_provider == "bedrock":
        from app.providers.assistant.bedrock import BedrockChatProvider

        return BedrockChatProvider.from_settings(settings)
    from app.providers.assistant.local import LocalChatProvider

    return LocalChatProvider()


def build_fallback_provider(settings: Settings) -> ChatProvider | None:
    """The local assistant answers when Gemini or Bedrock is down, if CHAT_FALLBACK_TO_LOCAL is set."""
    if settings.chat_provider in {"gemini", "bedrock"} and settings.chat_fallback_to_local:
        from app.providers.assistant.local import LocalChatProvider

        return LocalChatProvider()
    return None
