"""Skin analysis by Gemini: every photo in one request, answered as schema-constrained JSON.

The model's answer is untrusted input. It is validated against the same pydantic models
that describe the schema we send (scores 0-100, every metric present, known problem
codes); anything else fails the analysis with `vision_invalid_response` instead of being
repaired, and an unreachable model fails it with `vision_unavailable`. Overall scores
are ours: the model's per-photo `overall` if it gave one, else the mean of the metrics.
"""

import logging

from google import genai
from google.genai import types

from app.core.config import Settings
from app.providers.gemini import (
    UNAVAILABLE_ERRORS,
    UNDECODABLE_ERRORS,
    describe_error,
    gemini_client_from_settings,
    gemini_doctor_check,
)
from app.providers.vision.base import AnalysisFailedError, AngleAnalysis, ScanAnalysis
from app.providers.vision.remote import (
    SYSTEM_INSTRUCTION,
    InvalidAnswerError,
    WireResult,
    caption_overlay,
    prepare_image,
    to_scan_analysis,
    validate_answer,
)

logger = logging.getLogger("dermalens.vision.gemini")

UNAVAILABLE = "vision_unavailable"
INVALID_RESPONSE = "vision_invalid_response"
# Inline data is capped per request; full-size phone photos of three angles would pass it.
DEFAULT_MAX_IMAGE_SIDE = 1536


class GeminiVisionProvider:
    """`VisionProvider` backed by Gemini structured output (sync: runs in a worker thread)."""

    name = "gemini"

    def __init__(
        self, *, client: genai.Client, model: str, max_image_side: int = DEFAULT_MAX_IMAGE_SIDE
    ) -> None:
        self._client = client
        self._model = model
        self._max_image_side = max_image_side

    @classmethod
    def from_settings(cls, settings: Settings) -> "GeminiVisionProvider":
        """The provider described by GEMINI_* settings."""
        return cls(client=gemini_client_from_settings(settings), model=settings.gemini_model)

    @property
    def model_version(self) -> str:
        """The configured model; a result carries the version the API reports, if any."""
        return self._model

    def doctor_check(self) -> tuple[bool, str]:
        """Is the model reachable with this key? (a models.get call: no tokens spent)."""
        return gemini_doctor_check(self._client, self._model)

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.close()

    def analyze(self, images: dict[str, bytes]) -> ScanAnalysis:
        """Score every photo in one call; raise `AnalysisFailedError` if that is impossible."""
        if not images:
            raise ValueError("analyze() needs at least one photo")
        sizes: dict[str, tuple[int, int]] = {}
        contents: list[types.PartUnionDict] = []
        for angle, data in images.items():
            payload, sizes[angle] = prepare_image(data, max_side=self._max_image_side)
            contents += [
                types.Part.from_text(text=f"Photo angle: {angle}"),
                types.Part.from_bytes(data=payload, mime_type="image/jpeg"),
            ]
        contents.append(types.Part.from_text(text=f"Assess these {len(images)} photos."))
        response = self._generate(contents)
        wire = _parse(response, expected=set(images))
        return to_scan_analysis(
            wire, sizes=sizes, provider=self.name, model_version=response.model_version or self._model
        )

    def render_overlay(self, image: bytes, analysis: AngleAnalysis) -> bytes:
        """The photo with a caption bar; Gemini gives no boxes or regions to draw."""
        return caption_overlay(image, analysis, label="Gemini")

    def _generate(self, contents: list[types.PartUnionDict]) -> types.GenerateContentResponse:
        config = types.GenerateContentConfig(
            system_instruction=SYSTEM_INSTRUCTION,
            response_mime_type="application/json",
            response_schema=WireResult,
            temperature=0.0,  # the same photo should get the same scores
            # One request per call: our retry policy (HttpOptions) is the only one.
            automatic_continuation=False,
        )
        try:
            return self._client.models.generate_content(model=self._model, contents=contents, config=config)
        except UNAVAILABLE_ERRORS as exc:
            logger.warning("gemini vision unavailable: %s", describe_error(exc))
            raise AnalysisFailedError(
                "The skin analysis service is unavailable right now; retry the scan shortly.",
                code=UNAVAILABLE,
            ) from exc
        except UNDECODABLE_ERRORS as exc:
            raise _invalid(f"undecodable HTTP body ({type(exc).__name__})") from exc


def _invalid(reason: str) -> AnalysisFailedError:
    logger.warning("gemini vision answered nonsense: %s", reason)
    return AnalysisFailedError(
        "The skin analysis service gave an unusable answer; retry the scan.", code=INVALID_RESPONSE
    )


def _parse(response: types.GenerateContentResponse, *, expected: set[str]) -> WireResult:
    """The validated answer, or `vision_invalid_response`."""
    text = response.text  # non-thought text parts only; None when blocked or empty
    if not text:
        feedback = response.prompt_feedback.block_reason if response.prompt_feedback else None
        raise _invalid(f"no text (block_reason={feedback})")
    try:
        return validate_answer(text, expected=expected)
    except InvalidAnswerError as exc:
        raise _invalid(str(exc)) from exc
