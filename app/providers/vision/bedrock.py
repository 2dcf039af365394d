"""Skin analysis by a multimodal model on AWS Bedrock (VISION_PROVIDER=bedrock, off by default).

Every photo goes in one Converse request; the answer is forced through a tool whose input
schema is the shared remote result schema (`app.providers.vision.remote`), the same one
Gemini is held to and the same shape the local analyser returns. The tool input is then
validated strictly: an answer that does not fit is a failed analysis with
`vision_invalid_response` and a logged reason, never repaired and never filled with
numbers; an unreachable, throttled or timed-out model fails it with `vision_unavailable`.
"""

import json
import logging
from typing import Any

from app.core.config import Settings
from app.providers.bedrock import (
    CALL_ERRORS,
    UNDECODABLE_ERRORS,
    bedrock_runtime_client,
    describe_error,
    doctor_converse,
)
from app.providers.vision.base import AnalysisFailedError, AngleAnalysis, ScanAnalysis
from app.providers.vision.remote import (
    SYSTEM_INSTRUCTION,
    InvalidAnswerError,
    caption_overlay,
    prepare_image,
    result_schema,
    to_scan_analysis,
    validate_answer,
)

logger = logging.getLogger("dermalens.vision.bedrock")

UNAVAILABLE = "vision_unavailable"
INVALID_RESPONSE = "vision_invalid_response"
# Bedrock caps an image at 3.75 MB and 8000 px a side; 1536 px JPEGs stay far below both.
DEFAULT_MAX_IMAGE_SIDE = 1536
MAX_OUTPUT_TOKENS = 2000
TOOL_NAME = "record_skin_assessment"
_TOOL_NOTE = f"\n\nRecord your answer by calling the {TOOL_NAME} tool exactly once; write no other text."


class BedrockVisionProvider:
    """`VisionProvider` backed by a Bedrock multimodal model (sync: runs in a worker thread)."""

    name = "bedrock"

    def __init__(self, *, client: Any, model_id: str, max_image_side: int = DEFAULT_MAX_IMAGE_SIDE) -> None:
        self._client = client
        self._model_id = model_id
        self._max_image_side = max_image_side

    @classmethod
    def from_settings(cls, settings: Settings) -> "BedrockVisionProvider":
        """The provider described by BEDROCK_* settings (credentials from the default chain)."""
        return cls(client=bedrock_runtime_client(settings), model_id=settings.bedrock_vision_model_id)

    @property
    def model_version(self) -> str:
        """The configured model id (Converse reports no finer version)."""
        return self._model_id

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.close()

    def doctor_check(self) -> tuple[bool, str]:
        """Is the vision model reachable with this role? (1-token converse: bedrock:InvokeModel)."""
        return doctor_converse(client=self._client, model_id=self._model_id, what="vision")

    def analyze(self, images: dict[str, bytes]) -> ScanAnalysis:
        """Score every photo in one call; raise `AnalysisFailedError` if that is impossible."""
        if not images:
            raise ValueError("analyze() needs at least one photo")
        sizes: dict[str, tuple[int, int]] = {}
        content: list[dict[str, Any]] = []
        for angle, data in images.items():
            payload, sizes[angle] = prepare_image(data, max_side=self._max_image_side)
            content += [
                {"text": f"Photo angle: {angle}"},
                {"image": {"format": "jpeg", "source": {"bytes": payload}}},
            ]
        content.append({"text": f"Assess these {len(images)} photos."})
        response = self._converse(content)
        try:
            wire = validate_answer(_tool_answer(response), expected=set(images))
        except InvalidAnswerError as exc:
            raise _invalid(str(exc)) from exc
        return to_scan_analysis(wire, sizes=sizes, provider=self.name, model_version=self._model_id)

    def render_overlay(self, image: bytes, analysis: AngleAnalysis) -> bytes:
        """The photo with a caption bar; the model gives no boxes or regions to draw."""
        return caption_overlay(image, analysis, label="Bedrock")

    def _converse(self, content: list[dict[str, Any]]) -> dict[str, Any]:
        try:
            response: dict[str, Any] = self._client.converse(
                modelId=self._model_id,
                system=[{"text": SYSTEM_INSTRUCTION + _TOOL_NOTE}],
                messages=[{"role": "user", "content": content}],
                # The same photo should get the same scores.
                inferenceConfig={"maxTokens": MAX_OUTPUT_TOKENS, "temperature": 0.0},
                toolConfig={
                    "tools": [
                        {
                            "toolSpec": {
                                "name": TOOL_NAME,
                                "description": "Record the quality checks and skin scores of every photo.",
                                "inputSchema": {"json": inline_refs(result_schema())},
                            }
                        }
                    ],
                    "toolChoice": {"tool": {"name": TOOL_NAME}},
                },
            )
        except CALL_ERRORS as exc:
            logger.warning("bedrock vision unavailable: %s", describe_error(exc))
            raise AnalysisFailedError(
                "The skin analysis service is unavailable right now; retry the scan shortly.",
                code=UNAVAILABLE,
            ) from exc
        except UNDECODABLE_ERRORS as exc:
            raise _invalid(f"undecodable answer ({type(exc).__name__})") from exc
        return response


def _tool_answer(response: Any) -> str:
    """The forced tool call's input as JSON text (InvalidAnswerError if the model did not call it)."""
    if not isinstance(response, dict):
        raise InvalidAnswerError("not a Converse response")
    stop = response.get("stopReason")
    content = response.get("output", {}).get("message", {}).get("content", [])
    blocks = content if isinstance(content, list) else []
    calls = [b["toolUse"] for b in blocks if isinstance(b, dict) and isinstance(b.get("toolUse"), dict)]
    if stop not in {"tool_use", "end_turn"} or not calls:
        raise InvalidAnswerError(f"no {TOOL_NAME} call (stopReason={stop})")
    call = calls[0]
    if call.get("name") != TOOL_NAME or not isinstance(call.get("input"), dict):
        raise InvalidAnswerError(f"unexpected tool call {call.get('name')!r}")
    return json.dumps(call["input"])


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every local `$ref` replaced by its definition (not every model follows refs)."""
    definitions = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(definitions[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items() if key != "$defs"}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def _invalid(reason: str) -> AnalysisFailedError:
    logger.warning("bedrock vision answered something that does not fit the schema: %s", reason)
    return AnalysisFailedError(
        "The skin analysis service gave an unusable answer; retry the scan.", code=INVALID_RESPONSE
    )
