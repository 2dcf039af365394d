"""GeminiChatProvider against the fake Gemini server: replies, streams, failures, retries."""

import json
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from app.core.config import Settings
from app.providers.assistant.base import ChatContext, ChatProviderError, ChatTurn
from app.providers.assistant.gemini import MAX_REPLY_CHARS, GeminiChatProvider
from app.providers.assistant.pipeline import respond
from app.providers.gemini import build_gemini_client
from tests.providers.assistant.fixtures import user_context
from tests.providers.gemini.fake_gemini import (
    FakeGemini,
    Reply,
    client_for,
    error_reply,
    response_json,
    stream_reply,
    text_reply,
)

pytestmark = pytest.mark.anyio

MODEL = "gemini-test"
CONTEXT = ChatContext(
    profile={"full_name": "Ada Lovelace", "skin_type": "oily", "pregnant_or_breastfeeding": False},
    latest_scan={
        "scan_id": "S1",
        "scan_date": "2025-01-02",
        "scores": {"acne": 62, "redness": 71, "overall": 68},
    },
    plan={"plan_id": "P1", "status": "active", "current_week": 2, "today": {"am": ["cleanser", "spf"]}},
    adherence={"am_percent": 90, "pm_percent": 75, "streak_days": 4},
    history=[
        ChatTurn(role="user", content="Hi, is my skin oily?"),
        ChatTurn(role="assistant", content="Your oiliness score is fair."),
    ],
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fake() -> Iterator[FakeGemini]:
    with FakeGemini() as server:
        yield server


def make_provider(fake: FakeGemini, *, timeout: float = 1.0, retries: int = 0) -> GeminiChatProvider:
    return GeminiChatProvider(client=client_for(fake, timeout=timeout, retries=retries), model=MODEL)


@pytest.fixture
async def provider(fake: FakeGemini) -> AsyncIterator[GeminiChatProvider]:
    chat = make_provider(fake)
    yield chat
    await chat.aclose()


async def collect(chat: GeminiChatProvider, message: str = "Why do I break out?") -> list[str]:
    return [piece async for piece in chat.stream(message=message, context=CONTEXT)]


async def test_reply_sends_context_rules_and_history(fake: FakeGemini, provider: GeminiChatProvider) -> None:
    fake.enqueue(text_reply("  Keep using your gentle cleanser and SPF.  \n"))

    reply = await provider.reply(message="What about my acne?", context=CONTEXT)

    assert reply.content == "Keep using your gentle cleanser and SPF."
    assert reply.provider == "gemini"
    [request] = fake.requests
    assert request.path == f"/v1beta/models/{MODEL}:generateContent"
    contents = request.body["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    assert [c["parts"][0]["text"] for c in contents] == [
        "Hi, is my skin oily?",
        "Your oiliness score is fair.",
        "What about my acne?",
    ]
    system = request.system_text
    assert "not a doctor" in system
    assert "dermatologist" in system
    assert "prescription" in system
    assert '"scores":{"acne":62,"redness":71,"overall":68}' in system
    assert '"streak_days":4' in system
    assert "Ada Lovelace" not in json.dumps(request.body)  # no name sent
    assert all("inlineData" not in part and "fileData" not in part for part in request.parts)  # no photos


async def test_stream_yields_pieces_as_they_arrive(fake: FakeGemini, provider: GeminiChatProvider) -> None:
    fake.enqueue(stream_reply(["Use a gentle", " cleanser", " twice a day."]))

    pieces = await collect(provider)

    assert pieces == ["Use a gentle", " cleanser", " twice a day."]
    assert "".join(pieces) == "Use a gentle cleanser twice a day."
    [request] = fake.requests
    assert request.path == f"/v1beta/models/{MODEL}:streamGenerateContent"
    assert request.query == "alt=sse"
    assert "not a doctor" in request.system_text


async def test_output_is_cleaned_and_capped(fake: FakeGemini, provider: GeminiChatProvider) -> None:
    fake.enqueue(text_reply("Hi\x00 there\u202e\r\nbye\x1b[31m"), text_reply("a" * (MAX_REPLY_CHARS + 500)))

    cleaned = await provider.reply(message="hi", context=CONTEXT)
    capped = await provider.reply(message="hi", context=CONTEXT)

    assert cleaned.content == "Hi there\nbye[31m"
    assert len(capped.content) == MAX_REPLY_CHARS


async def test_stream_is_capped(fake: FakeGemini, provider: GeminiChatProvider) -> None:
    fake.enqueue(stream_reply(["a" * 3000, "b" * 3000, "c" * 10]))

    pieces = await collect(provider)

    assert [len(piece) for piece in pieces] == [3000, MAX_REPLY_CHARS - 3000]


@pytest.mark.parametrize(
    ("status", "api_status"), [(429, "RESOURCE_EXHAUSTED"), (500, "INTERNAL"), (503, "UNAVAILABLE")]
)
async def test_http_errors_are_unavailable(
    fake: FakeGemini, provider: GeminiChatProvider, status: int, api_status: str
) -> None:
    fake.enqueue(error_reply(status, api_status), error_reply(status, api_status))

    with pytest.raises(ChatProviderError) as on_reply:
        await provider.reply(message="hi", context=CONTEXT)
    with pytest.raises(ChatProviderError) as on_stream:
        await collect(provider)

    assert on_reply.value.code == on_stream.value.code == "assistant_unavailable"
    assert on_reply.value.status_code == 503


async def test_slow_server_is_unavailable_within_the_timeout(fake: FakeGemini) -> None:
    fake.enqueue(Reply(body=response_json("late"), delay_seconds=5))
    chat = make_provider(fake, timeout=0.3)
    started = time.monotonic()

    with pytest.raises(ChatProviderError) as caught:
        await chat.reply(message="hi", context=CONTEXT)

    assert caught.value.code == "assistant_unavailable"
    assert time.monotonic() - started < 2
    await chat.aclose()


async def test_stream_error_mid_answer_raises_after_the_first_pieces(
    fake: FakeGemini, provider: GeminiChatProvider
) -> None:
    first = stream_reply(["Start"]).events or []
    error = {"error": {"code": 500, "message": "fake", "status": "INTERNAL"}}
    fake.enqueue(Reply(events=[*first, error]))
    received: list[str] = []

    with pytest.raises(ChatProviderError) as caught:  # noqa: PT012 - the pieces before the failure count too
        async for piece in provider.stream(message="hi", context=CONTEXT):
            received.append(piece)

    assert received == ["Start"]
    assert caught.value.code == "assistant_unavailable"


async def test_stream_stalling_mid_answer_times_out(fake: FakeGemini) -> None:
    fake.enqueue(stream_reply(["Start", " late"], event_delay_seconds=5))
    chat = make_provider(fake, timeout=0.3)
    received: list[str] = []
    started = time.monotonic()

    with pytest.raises(ChatProviderError) as caught:  # noqa: PT012 - the pieces before the failure count too
        async for piece in chat.stream(message="hi", context=CONTEXT):
            received.append(piece)

    assert received == ["Start"]
    assert caught.value.code == "assistant_unavailable"
    assert time.monotonic() - started < 2
    await chat.aclose()


@pytest.mark.parametrize(
    "reply",
    [
        Reply(body=response_json(None)),
        Reply(body=response_json("   ")),
        Reply(body=response_json("Partial answer", finish_reason="SAFETY")),
        Reply(body={**response_json(None), "promptFeedback": {"blockReason": "SAFETY"}}),
    ],
    ids=["no_candidates", "blank_text", "stopped_for_safety", "prompt_blocked"],
)
async def test_no_usable_answer_is_invalid_response(
    fake: FakeGemini, provider: GeminiChatProvider, reply: Reply
) -> None:
    fake.enqueue(reply)

    with pytest.raises(ChatProviderError) as caught:
        await provider.reply(message="hi", context=CONTEXT)

    assert caught.value.code == "assistant_invalid_response"


async def test_empty_stream_is_invalid_response(fake: FakeGemini, provider: GeminiChatProvider) -> None:
    fake.enqueue(Reply(events=[response_json(None)]))

    with pytest.raises(ChatProviderError) as caught:
        await collect(provider)

    assert caught.value.code == "assistant_invalid_response"


async def test_retries_a_server_error_then_succeeds(fake: FakeGemini) -> None:
    fake.enqueue(error_reply(500, "INTERNAL"), text_reply("Recovered."))
    fake.enqueue(error_reply(429, "RESOURCE_EXHAUSTED"), stream_reply(["Also", " recovered."]))
    chat = make_provider(fake, retries=1)

    reply = await chat.reply(message="hi", context=CONTEXT)
    pieces = await collect(chat)

    assert reply.content == "Recovered."
    assert "".join(pieces) == "Also recovered."
    assert len(fake.requests) == 4
    await chat.aclose()


async def test_gives_up_after_max_retries(fake: FakeGemini) -> None:
    fake.enqueue(*[error_reply(503, "UNAVAILABLE")] * 3)
    chat = make_provider(fake, retries=2)

    with pytest.raises(ChatProviderError) as caught:
        await chat.reply(message="hi", context=CONTEXT)

    assert caught.value.code == "assistant_unavailable"
    assert len(fake.requests) == 3
    await chat.aclose()


async def test_from_settings_uses_base_url_model_and_key(fake: FakeGemini) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        environment="test",
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        chat_provider="gemini",
        gemini_api_key="settings-key",
        gemini_model="gemini-from-settings",
        gemini_base_url=fake.base_url,
        gemini_timeout_seconds=1,
        gemini_max_retries=0,
    )
    fake.enqueue(text_reply("ok"))
    chat = GeminiChatProvider.from_settings(settings)

    await chat.reply(message="hi", context=CONTEXT)

    [request] = fake.requests
    assert request.path == "/v1beta/models/gemini-from-settings:generateContent"
    assert request.headers["x-goog-api-key"] == "settings-key"
    await chat.aclose()


def test_missing_api_key_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="GEMINI_API_KEY"):
        build_gemini_client(api_key="", timeout_seconds=1, max_retries=0)


# ---- the shared understanding + safety layer in front of Gemini ----


async def test_red_flag_is_answered_before_gemini_is_asked(
    fake: FakeGemini, provider: GeminiChatProvider
) -> None:
    fake.enqueue(text_reply("That sounds like normal purging, keep going!"))

    screened, reply = await respond(
        provider=provider, message="a sore on my nose that hasn't healed in 2 months", context=user_context()
    )

    assert screened.request.red_flags == ["non_healing_sore"]
    assert reply.provider == "safety"
    assert reply.content.startswith("**Please read this first.**")
    assert "dermatologist" in reply.content
    assert "purging" not in reply.content
    assert fake.requests == []


async def test_gemini_gets_the_structured_request_with_the_referent(
    fake: FakeGemini, provider: GeminiChatProvider
) -> None:
    fake.enqueue(text_reply("Cut back to fewer nights rather than stopping."))
    context = user_context()
    context.history = [
        ChatTurn(role="user", content="my skin is peeling from adaplene"),
        ChatTurn(role="assistant", content="Mild peeling is common."),
    ]

    _, reply = await respond(provider=provider, message="should i stop using it?", context=context)

    assert reply.content.startswith("Cut back to fewer nights")
    system = fake.requests[0].system_text
    assert '"request":{"intent":"side_effects","referent":"adapalene","follow_up":true}' in system
    assert '"acne":42.0' in system, "grounded in the user's own numbers"


async def test_pregnancy_caution_comes_from_the_ingredient_data(
    fake: FakeGemini, provider: GeminiChatProvider
) -> None:
    fake.enqueue(text_reply("Yes, retinol is fine tonight."))

    _, reply = await respond(
        provider=provider, message="can i use my retinol serum tonight?", context=user_context(pregnant=True)
    )

    assert reply.content.startswith(
        "No: Retinol is a retinoid, not to be used during pregnancy or breastfeeding."
    )
    assert '"pregnancy_from_profile":true' in fake.requests[0].system_text
