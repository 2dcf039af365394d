"""Skin analysis providers, chosen by VISION_PROVIDER."""

from app.core.config import Settings
from app.providers.vision.base import VisionProvider

__all__ = ["VisionProvider", "build_vision_provider"]


def build_vision_provider(settings: Settings) -> VisionProvider:
    """The configured provider; imported lazily so the offline default needs no cloud SDK."""
    if settings.vision_provider == "gemini":
        from app.providers.vision.gemini import GeminiVisionProvider

        return GeminiVisionProvider.from_settings(settings)
    if settings.vision_provider == "bedrock":
        from app.providers.vision.bedrock import BedrockVisionProvider

        return BedrockVisionProvider.from_settings(settings)
    from app.providers.vision.local import LocalVisionProvider

    return LocalVisionProvider()
