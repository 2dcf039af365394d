"""The Bedrock vision provider's client code against a fake Bedrock Runtime behind `endpoint_url`.

What is sent (every photo, the forced tool with the shared schema), what is accepted (only
an answer that fits), and every failure path: throttling, a timeout, a body cut half-way,
malformed or out-of-range answers. No failure ever produces a score.
"""

import base64
import io
from typing import Any

import pytest
from PIL import Image

from app.core.config import Settings
from app.core.vocabulary import METRICS, OVERALL
from app.providers.vision.base import AnalysisFailedError
from app.providers.vision.bedrock import TOOL_NAME, BedrockVisionProvider
from tests.providers.bedrock.fake_bedrock import FakeBedrock, Reply, error_reply, text_reply, tool_reply

MODEL = "amazon.nova-lite-v1:0"


def jpeg(color: tuple[int, int, int], size: tuple[int, int] = (320, 240)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG")
    return out.getvalue()


PHOTOS = {"front": jpeg((200, 150, 130)), "left": jpeg((190, 140, 120))}


def angle(name: str, *, score: Any = 80, problems: tuple[str, ...] = (), **quality: Any) -> dict[str, Any]:
    flags = {"face_found": True, "sharpness_ok": True, "exposure_ok": True, **quality}
    return {
        "angle": name,
        "quality": {**flags, "problems": list(problems)},
        "scores": dict.fromkeys(METRICS, score) if score is not None else None,
    }


def answer(*angles: dict[str, Any]) -> Reply:
    return tool_reply(TOOL_NAME, {"angles": list(angles)})


def provider_for(fake: FakeBedrock, **overrides: Any) -> BedrockVisionProvider:
    values: dict[str, Any] = {
        "vision_provider": "bedrock",
        "bedrock_endpoint_url": fake.url,
        "bedrock_max_attempts": 1,
        "bedrock_read_timeout_seconds": 2,
        **overrides,
    }
    return BedrockVisionProvider.from_settings(Settings(_env_file=None, **values))  # type: ignore[call-arg]


def failure(fake: FakeBedrock, reply: Reply, **overrides: Any) -> AnalysisFailedError:
    fake.enqueue(reply)
    with pytest.raises(AnalysisFailedError) as raised:
        provider_for(fake, **overrides).analyze(PHOTOS)
    return raised.value


def test_scores_come_from_the_forced_tool_call(fake: FakeBedrock) -> None:
    front = angle("front", score=70)
    front["scores"]["overall"] = 77
    fake.enqueue(answer(front, angle("left", score=80)))
    result = provider_for(fake).analyze(PHOTOS)
    assert result.provider == "bedrock"
    assert result.model_version == MODEL
    assert result.passed_quality is True
    assert result.scores["acne"] == 75.0  # the mean over both photos
    assert result.scores[OVERALL] == round((77 + 80) / 2, 1)  # ours: the model's overall, else the mean
    assert [a.angle for a in result.angles] == ["front", "left"]
    assert (result.angles[0].quality.width, result.angles[0].quality.height) == (320, 240)

    sent = fake.requests[-1].body
    assert fake.requests[-1].path == "/model/amazon.nova-lite-v1%3A0/converse"
    content = sent["messages"][0]["content"]
    images = [block["image"] for block in content if "image" in block]
    assert [i["format"] for i in images] == ["jpeg", "jpeg"]
    assert base64.b64decode(images[0]["source"]["bytes"]) == PHOTOS["front"]
    assert {"text": "Photo angle: left"} in content
    assert sent["toolConfig"]["toolChoice"] == {"tool": {"name": TOOL_NAME}}
    schema = sent["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]
    assert "$ref" not in str(schema)
    assert set(METRICS) <= set(
        schema["properties"]["angles"]["items"]["properties"]["scores"]["anyOf"][0]["properties"]
    )
    assert sent["inferenceConfig"]["temperature"] == 0.0
    assert "HIGHER MEANS HEALTHIER" in sent["system"][0]["text"]


def test_a_photo_the_model_rejects_is_a_quality_failure_not_scores(fake: FakeBedrock) -> None:
    fake.enqueue(answer(angle("front"), angle("left", score=None, problems=("too_dark",), exposure_ok=False)))
    result = provider_for(fake).analyze(PHOTOS)
    assert result.passed_quality is False
    assert result.scores == {}
    assert [p.code for p in result.problems] == ["too_dark"]
    assert result.problems[0].message.startswith("Left photo:")


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (answer(angle("front", score=120), angle("left")), "a score above 100"),
        (answer(angle("front", score="80"), angle("left")), "a number as a string"),
        (answer(angle("front")), "a photo left out"),
        (answer(angle("front"), angle("left"), angle("right")), "a photo that was never sent"),
        (answer(angle("front", score=None), angle("left")), "no scores for a photo that passed"),
        (answer(angle("front", problems=("sunburn",)), angle("left")), "an unknown problem code"),
        (tool_reply("some_other_tool", {"angles": []}), "another tool"),
        (tool_reply(TOOL_NAME, "not an object"), "input that is not an object"),
        (text_reply('{"angles": []}'), "text instead of the tool call"),
        (tool_reply(TOOL_NAME, {"angles": [angle("front")]}, stop_reason="max_tokens"), "a cut-off answer"),
        (Reply(body="<html>gateway</html>"), "not JSON at all"),
    ],
)
def test_an_answer_that_does_not_fit_fails_the_analysis(fake: FakeBedrock, reply: Reply, why: str) -> None:
    error = failure(fake, reply)
    assert error.code == "vision_invalid_response", why
    assert error.status_code == 503


def test_throttling_is_retried_within_the_bound_then_fails(fake: FakeBedrock) -> None:
    before = len(fake.requests)
    error = failure(fake, error_reply(429, "ThrottlingException"), bedrock_max_attempts=1)
    assert error.code == "vision_unavailable"
    assert len(fake.requests) - before == 1
    fake.enqueue(error_reply(429, "ThrottlingException"), answer(angle("front"), angle("left")))
    assert provider_for(fake, bedrock_max_attempts=2).analyze(PHOTOS).passed_quality is True


def test_a_timeout_fails_the_analysis(fake: FakeBedrock) -> None:
    error = failure(fake, Reply(body={"late": True}, delay_seconds=2.0), bedrock_read_timeout_seconds=0.3)
    assert error.code == "vision_unavailable"


def test_a_body_cut_half_way_fails_the_analysis(fake: FakeBedrock) -> None:
    reply = answer(angle("front"), angle("left"))
    error = failure(fake, Reply(body=reply.body, cut_body_at=60))
    # botocore hands the truncated JSON to its parser, which finds no tool call in it: a
    # failed analysis with a reason, and no score from the half that arrived.
    assert error.code == "vision_invalid_response"


def test_a_model_without_image_support_is_unavailable(fake: FakeBedrock) -> None:
    error = failure(
        fake, error_reply(400, "ValidationException", "This model doesn't support the image content block")
    )
    assert error.code == "vision_unavailable"


def test_doctor_check(fake: FakeBedrock) -> None:
    fake.enqueue(text_reply("p", stop_reason="max_tokens"))
    assert provider_for(fake).doctor_check()[0] is True
    fake.enqueue(error_reply(404, "ResourceNotFoundException", "model not found"))
    ok, message = provider_for(fake).doctor_check()
    assert ok is False
    assert "ResourceNotFoundException" in message
