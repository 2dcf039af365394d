"""GeminiVisionProvider against the fake Gemini server: what we send, what we accept."""

import base64
import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from app.core.config import Settings
from app.core.vocabulary import METRICS, OVERALL
from app.providers.gemini import build_gemini_client
from app.providers.vision.base import AnalysisFailedError
from app.providers.vision.gemini import GeminiVisionProvider
from tests.providers.gemini.fake_gemini import (
    FAKE_MODEL_VERSION,
    FakeGemini,
    RecordedRequest,
    Reply,
    client_for,
    error_reply,
    response_json,
    text_reply,
)

MODEL = "gemini-test"
API_KEY = "test-key"


def jpeg(color: tuple[int, int, int], size: tuple[int, int] = (320, 240)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG")
    return out.getvalue()


PHOTOS = {"front": jpeg((200, 150, 130)), "left": jpeg((190, 140, 120)), "right": jpeg((180, 130, 110))}


def scores(value: float, **overrides: Any) -> dict[str, Any]:
    return {**dict.fromkeys(METRICS, value), **overrides}


def angle(
    name: str, *, score: float | None = 80, problems: tuple[str, ...] = (), **quality: Any
) -> dict[str, Any]:
    flags = {"face_found": True, "sharpness_ok": True, "exposure_ok": True, **quality}
    return {
        "angle": name,
        "quality": {**flags, "problems": list(problems)},
        "scores": scores(score) if score is not None else None,
    }


def answer(*angles: dict[str, Any]) -> Reply:
    return text_reply(json.dumps({"angles": list(angles)}))


def all_good() -> Reply:
    return answer(angle("front"), angle("left"), angle("right"))


def inline_images(request: RecordedRequest) -> list[dict[str, Any]]:
    return [part["inlineData"] for part in request.parts if "inlineData" in part]


def mime_of(inline: dict[str, Any]) -> str:
    # The SDK spells this key in snake case on the wire; the API accepts both spellings.
    return inline.get("mimeType") or inline["mime_type"]


@pytest.fixture
def fake() -> Iterator[FakeGemini]:
    with FakeGemini() as server:
        yield server


def make_provider(fake: FakeGemini, *, timeout: float = 1.0, retries: int = 0) -> GeminiVisionProvider:
    return GeminiVisionProvider(client=client_for(fake, timeout=timeout, retries=retries), model=MODEL)


@pytest.fixture
def provider(fake: FakeGemini) -> Iterator[GeminiVisionProvider]:
    vision = make_provider(fake)
    yield vision
    vision.close()


def test_success_maps_scores_and_combines_angles(fake: FakeGemini, provider: GeminiVisionProvider) -> None:
    front = angle("front", score=80)
    front["scores"][OVERALL] = 90
    fake.enqueue(answer(front, angle("left", score=70), angle("right", score=60)))

    result = provider.analyze(PHOTOS)

    assert result.provider == "gemini"
    assert result.model_version == FAKE_MODEL_VERSION
    assert result.passed_quality is True
    assert result.problems == []
    assert result.scores == {**scores(70.0), OVERALL: 73.3}  # overall: mean of 90, 70, 60
    by_angle = {a.angle: a for a in result.angles}
    assert by_angle["left"].scores == {**scores(70.0), OVERALL: 70.0}  # mean of metrics when missing
    assert by_angle["front"].quality.passed is True
    assert (by_angle["front"].quality.width, by_angle["front"].quality.height) == (320, 240)


def test_request_carries_every_photo_the_prompt_and_the_schema(
    fake: FakeGemini, provider: GeminiVisionProvider
) -> None:
    fake.enqueue(all_good())

    provider.analyze(PHOTOS)

    [request] = fake.requests
    assert request.path == f"/v1beta/models/{MODEL}:generateContent"
    assert request.headers["x-goog-api-key"] == API_KEY
    images = inline_images(request)
    assert [mime_of(image) for image in images] == ["image/jpeg"] * 3
    assert [base64.urlsafe_b64decode(image["data"]) for image in images] == list(PHOTOS.values())
    texts = [part["text"] for part in request.parts if "text" in part]
    assert [t for t in texts if t.startswith("Photo angle:")] == [f"Photo angle: {a}" for a in PHOTOS]
    assert "HIGHER MEANS HEALTHIER" in request.system_text
    assert all(metric in request.system_text for metric in METRICS)
    config = request.body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    angle_schema = config["responseSchema"]["properties"]["angles"]["items"]["properties"]
    assert set(angle_schema["scores"]["properties"]) == {*METRICS, OVERALL}
    assert angle_schema["scores"]["properties"]["acne"]["maximum"] == 100
    problem_codes = angle_schema["quality"]["properties"]["problems"]["items"]["enum"]
    assert "no_face" in problem_codes


def test_quality_failure_reported_by_model(fake: FakeGemini, provider: GeminiVisionProvider) -> None:
    front = angle("front", score=None, face_found=False, problems=("no_face",))
    left = angle("left", score=None, sharpness_ok=False)  # "blurry" implied by the flag
    fake.enqueue(answer(front, left, angle("right")))

    result = provider.analyze(PHOTOS)

    assert result.passed_quality is False
    assert result.scores == {}
    assert [p.code for p in result.problems] == ["no_face", "blurry"]
    assert result.problems[0].message.startswith("Front photo:")
    front_result = next(a for a in result.angles if a.angle == "front")
    assert front_result.quality.face_found is False
    assert front_result.scores == {}


def test_large_photo_is_downscaled_but_reports_its_real_size(
    fake: FakeGemini, provider: GeminiVisionProvider
) -> None:
    fake.enqueue(answer(angle("front")))

    result = provider.analyze({"front": jpeg((200, 150, 130), size=(3000, 1500))})

    sent = base64.urlsafe_b64decode(inline_images(fake.requests[0])[0]["data"])
    assert Image.open(io.BytesIO(sent)).size == (1536, 768)
    assert (result.angles[0].quality.width, result.angles[0].quality.height) == (3000, 1500)


def test_a_photo_stored_turned_is_sent_upright_with_its_upright_size(
    fake: FakeGemini, provider: GeminiVisionProvider
) -> None:
    """A portrait phone photo is stored as coded plus its EXIF orientation (app/scans/jpeg.py);
    the model gets the pixels the way a person sees them."""
    fake.enqueue(answer(angle("front")))
    coded = Image.new("RGB", (320, 240), (200, 150, 130))
    coded.paste((20, 20, 20), (0, 0, 40, 40))  # a dark corner, top left as coded
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # viewers turn it 90° clockwise
    coded.save(out, format="JPEG", exif=exif)

    result = provider.analyze({"front": out.getvalue()})

    sent = Image.open(io.BytesIO(base64.urlsafe_b64decode(inline_images(fake.requests[0])[0]["data"])))
    assert sent.size == (240, 320)
    assert len(sent.getexif()) == 0, "turned in the pixels, not left to the model to read EXIF"
    assert sum(sent.convert("RGB").getpixel((235, 5))) < 150, "the dark corner is now top right"
    assert (result.angles[0].quality.width, result.angles[0].quality.height) == (240, 320)


def test_malformed_json_is_invalid_response(fake: FakeGemini, provider: GeminiVisionProvider) -> None:
    fake.enqueue(text_reply('{"angles": [{"angle": "front", '))

    with pytest.raises(AnalysisFailedError) as caught:
        provider.analyze(PHOTOS)

    assert caught.value.code == "vision_invalid_response"


def _violations() -> dict[str, dict[str, Any]]:
    out_of_range = angle("front")
    out_of_range["scores"]["acne"] = 150
    missing_metric = angle("front")
    del missing_metric["scores"]["pores"]
    string_score = angle("front")
    string_score["scores"]["acne"] = "80"
    return {
        "score_150": {"angles": [out_of_range, angle("left"), angle("right")]},
        "missing_metric": {"angles": [missing_metric, angle("left"), angle("right")]},
        "string_score": {"angles": [string_score, angle("left"), angle("right")]},
        "unknown_problem": {
            "angles": [angle("front", score=None, problems=("bad_vibes",)), angle("left"), angle("right")]
        },
        "missing_angle": {"angles": [angle("front"), angle("left")]},
        "duplicate_angle": {"angles": [angle("front"), angle("left"), angle("left"), angle("right")]},
        "passed_without_scores": {"angles": [angle("front", score=None), angle("left"), angle("right")]},
        "dark_without_reason": {
            "angles": [angle("front", score=None, exposure_ok=False), angle("left"), angle("right")]
        },
        "not_an_object": {"angles": "all good"},
    }


@pytest.mark.parametrize("case", list(_violations()))
def test_schema_violation_is_invalid_response(
    fake: FakeGemini, provider: GeminiVisionProvider, case: str
) -> None:
    fake.enqueue(text_reply(json.dumps(_violations()[case])))

    with pytest.raises(AnalysisFailedError) as caught:
        provider.analyze(PHOTOS)

    assert caught.value.code == "vision_invalid_response"


@pytest.mark.parametrize(
    "reply",
    [
        Reply(body=response_json(None)),  # no candidate at all
        Reply(body={**response_json(None), "promptFeedback": {"blockReason": "SAFETY"}}),
        Reply(body="<html>not json</html>"),  # a proxy's error page with status 200
    ],
    ids=["no_candidates", "blocked", "html_body"],
)
def test_no_usable_text_is_invalid_response(
    fake: FakeGemini, provider: GeminiVisionProvider, reply: Reply
) -> None:
    fake.enqueue(reply)

    with pytest.raises(AnalysisFailedError) as caught:
        provider.analyze(PHOTOS)

    assert caught.value.code == "vision_invalid_response"


@pytest.mark.parametrize(
    ("status", "api_status"),
    [(429, "RESOURCE_EXHAUSTED"), (500, "INTERNAL"), (503, "UNAVAILABLE"), (403, "PERMISSION_DENIED")],
)
def test_http_errors_are_unavailable(
    fake: FakeGemini, provider: GeminiVisionProvider, status: int, api_status: str
) -> None:
    fake.enqueue(error_reply(status, api_status))

    with pytest.raises(AnalysisFailedError) as caught:
        provider.analyze(PHOTOS)

    assert caught.value.code == "vision_unavailable"
    assert len(fake.requests) == 1  # retries are off in this fixture


def test_slow_server_is_unavailable_within_the_timeout(fake: FakeGemini) -> None:
    fake.enqueue(Reply(body=response_json("{}"), delay_seconds=5))
    vision = make_provider(fake, timeout=0.3)
    started = time.monotonic()

    with pytest.raises(AnalysisFailedError) as caught:
        vision.analyze(PHOTOS)

    assert caught.value.code == "vision_unavailable"
    assert time.monotonic() - started < 2
    vision.close()


def test_refused_connection_is_unavailable() -> None:
    with FakeGemini() as gone:
        base_url = gone.base_url
    client = build_gemini_client(api_key=API_KEY, base_url=base_url, timeout_seconds=1, max_retries=0)
    vision = GeminiVisionProvider(client=client, model=MODEL)

    with pytest.raises(AnalysisFailedError) as caught:
        vision.analyze(PHOTOS)

    assert caught.value.code == "vision_unavailable"


def test_retries_a_server_error_then_succeeds(fake: FakeGemini) -> None:
    fake.enqueue(error_reply(500, "INTERNAL"), all_good())
    vision = make_provider(fake, retries=1)

    result = vision.analyze(PHOTOS)

    assert result.passed_quality is True
    assert len(fake.requests) == 2
    vision.close()


def test_from_settings_uses_base_url_model_and_key(fake: FakeGemini) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        environment="test",
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        vision_provider="gemini",
        gemini_api_key="settings-key",
        gemini_model="gemini-from-settings",
        gemini_base_url=fake.base_url,
        gemini_timeout_seconds=1,
        gemini_max_retries=0,
    )
    fake.enqueue(all_good())
    vision = GeminiVisionProvider.from_settings(settings)

    vision.analyze(PHOTOS)

    [request] = fake.requests
    assert request.path == "/v1beta/models/gemini-from-settings:generateContent"
    assert request.headers["x-goog-api-key"] == "settings-key"
    assert request.headers["x-server-timeout"] == "1"
    vision.close()


def test_render_overlay_returns_a_jpeg_of_the_same_size(
    fake: FakeGemini, provider: GeminiVisionProvider
) -> None:
    fake.enqueue(all_good())
    front = provider.analyze(PHOTOS).angles[0]

    overlay = provider.render_overlay(PHOTOS["front"], front)

    picture = Image.open(io.BytesIO(overlay))
    assert picture.format == "JPEG"
    assert picture.size == (320, 240)
