"""The Bedrock chat provider's client code against a fake Bedrock Runtime behind `endpoint_url`.

Real boto3 → real HTTP → the fake server: success, throttling (retried, then given up),
malformed answers, a timeout, and a stream cut half-way (what was yielded stays yielded).
"""

import asyncio
from typing import Any

import pytest

from app.core.config import Settings
from app.providers.assistant.base import ChatContext, ChatProviderError, ChatTurn
from app.providers.assistant.bedrock import BedrockChatProvider, build_messages
from tests.providers.bedrock.fake_bedrock import (
    FakeBedrock,
    Reply,
    error_reply,
    event,
    exception_frame,
    stream_reply,
    text_reply,
)

MODEL = "amazon.nova-lite-v1:0"


def provider_for(fake: FakeBedrock, **overrides: Any) -> BedrockChatProvider:
    values: dict[str, Any] = {
        "chat_provider": "bedrock",
        "bedrock_endpoint_url": fake.url,
        "bedrock_region": "eu-west-1",
        "bedrock_max_attempts": 1,
        "bedrock_read_timeout_seconds": 2,
        **overrides,
    }
    return BedrockChatProvider.from_settings(Settings(_env_file=None, **values))  # type: ignore[call-arg]


def context() -> ChatContext:
    return ChatContext(
        profile={"full_name": "Ada Lovelace", "skin_type": "oily"},
        latest_scan={"scan_id": "S1", "scores": {"acne": 61.0}},
        skin_logs=[{"date": "2026-12-01", "breakouts": "few", "dryness": 40}],
        history=[ChatTurn(role="user", content="hi"), ChatTurn(role="assistant", content="Hello!")],
        today="2026-12-01",
    )


def collect(
    provider: BedrockChatProvider, message: str = "how is my skin?"
) -> tuple[list[str], Exception | None]:
    """Every piece the stream yielded, and the error that ended it (if any)."""

    async def run() -> tuple[list[str], Exception | None]:
        pieces: list[str] = []
        try:
            async for piece in provider.stream(message=message, context=context()):
                pieces.append(piece)
        except ChatProviderError as exc:
            return pieces, exc
        return pieces, None

    return asyncio.run(run())


def test_reply_sends_the_grounded_context_and_returns_the_text(fake: FakeBedrock) -> None:
    fake.enqueue(text_reply("  Your acne score is 61/100; keep going.\x07 "))
    reply = asyncio.run(provider_for(fake).reply(message="how is my skin?", context=context()))
    assert reply.provider == "bedrock"
    assert reply.content == "Your acne score is 61/100; keep going."  # control characters dropped
    sent = fake.requests[-1]
    assert sent.path == "/model/amazon.nova-lite-v1%3A0/converse"
    assert sent.model_id == MODEL
    assert "not a doctor" in sent.system_text.lower()
    assert '"acne":61.0' in sent.system_text
    assert '"skin_logs":[{"date":"2026-12-01","breakouts":"few","dryness":40}]' in sent.system_text
    assert "Ada" not in sent.system_text  # no name goes to the model
    assert [m["role"] for m in sent.body["messages"]] == ["user", "assistant", "user"]
    assert sent.body["messages"][-1]["content"] == [{"text": "how is my skin?"}]
    assert sent.body["inferenceConfig"] == {"maxTokens": 600, "temperature": 0.4}


def test_messages_start_with_the_user_and_alternate() -> None:
    history = [
        ChatTurn(role="assistant", content="(an old greeting)"),
        ChatTurn(role="user", content="first"),
        ChatTurn(role="user", content="second"),
        ChatTurn(role="assistant", content="   "),
    ]
    messages = build_messages(message="third", history=history)
    assert messages == [{"role": "user", "content": [{"text": "first\n\nsecond\n\nthird"}]}]


def test_throttling_is_retried_within_the_bound_then_unavailable(fake: FakeBedrock) -> None:
    fake.enqueue(*[error_reply(429, "ThrottlingException", "Too many requests")] * 2)
    before = len(fake.requests)
    with pytest.raises(ChatProviderError) as raised:
        asyncio.run(provider_for(fake, bedrock_max_attempts=2).reply(message="hi there", context=context()))
    assert raised.value.code == "assistant_unavailable"
    assert raised.value.status_code == 503
    assert len(fake.requests) - before == 2  # BEDROCK_MAX_ATTEMPTS, not more

    fake.enqueue(error_reply(429, "ThrottlingException"), text_reply("Second time lucky."))
    reply = asyncio.run(
        provider_for(fake, bedrock_max_attempts=2).reply(message="hi there", context=context())
    )
    assert reply.content == "Second time lucky."


@pytest.mark.parametrize(
    "reply",
    [
        Reply(body="this is not json"),
        Reply(body={"output": {"message": {"role": "assistant", "content": []}}, "stopReason": "end_turn"}),
        Reply(
            body={"output": {"message": {"role": "assistant", "content": "text"}}, "stopReason": "end_turn"}
        ),
        text_reply("I must not say this", stop_reason="guardrail_intervened"),
        text_reply("blocked", stop_reason="content_filtered"),
        Reply(body={"unexpected": True}),
    ],
)
def test_malformed_or_refused_answers_are_invalid_responses(fake: FakeBedrock, reply: Reply) -> None:
    fake.enqueue(reply)
    with pytest.raises(ChatProviderError) as raised:
        asyncio.run(provider_for(fake).reply(message="hi there", context=context()))
    assert raised.value.code == "assistant_invalid_response"
    # Whatever the body, nothing of it is shown as an answer.
    assert "I must not say this" not in raised.value.message


def test_a_timeout_is_unavailable_not_a_hang(fake: FakeBedrock) -> None:
    fake.enqueue(Reply(body={"late": True}, delay_seconds=2.0))
    with pytest.raises(ChatProviderError) as raised:
        asyncio.run(
            provider_for(fake, bedrock_read_timeout_seconds=0.3).reply(message="hi", context=context())
        )
    assert raised.value.code == "assistant_unavailable"


def test_access_denied_and_unknown_model_are_unavailable(fake: FakeBedrock) -> None:
    fake.enqueue(error_reply(403, "AccessDeniedException", "not authorized to perform bedrock:InvokeModel"))
    with pytest.raises(ChatProviderError) as raised:
        asyncio.run(provider_for(fake).reply(message="hi", context=context()))
    assert raised.value.code == "assistant_unavailable"


def test_stream_yields_pieces_as_they_arrive(fake: FakeBedrock) -> None:
    fake.enqueue(stream_reply(["\n Apply ", "sunscreen ", "every morning."]))
    pieces, error = collect(provider_for(fake))
    assert error is None
    assert pieces == ["Apply ", "sunscreen ", "every morning."]
    assert fake.requests[-1].path == "/model/amazon.nova-lite-v1%3A0/converse-stream"


def test_stream_cut_half_way_keeps_what_was_yielded_and_fails(fake: FakeBedrock) -> None:
    # messageStart + two deltas reach the client, then the connection drops.
    fake.enqueue(stream_reply(["Apply ", "sunscreen ", "every ", "morning."], cut_after_frames=3))
    pieces, error = collect(provider_for(fake))
    assert pieces == ["Apply ", "sunscreen "]
    assert isinstance(error, ChatProviderError)
    assert error.code == "assistant_unavailable"


def test_stream_ending_without_message_stop_is_a_cut(fake: FakeBedrock) -> None:
    reply = stream_reply(["Half ", "an answer"])
    fake.enqueue(Reply(frames=(reply.frames or [])[:3]))  # start + two deltas, then a clean end
    pieces, error = collect(provider_for(fake))
    assert pieces == ["Half ", "an answer"]
    assert isinstance(error, ChatProviderError)


def test_exception_event_mid_stream(fake: FakeBedrock) -> None:
    frames = [
        event("messageStart", {"role": "assistant"}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Retinol "}}),
        exception_frame("throttlingException", "slow down"),
    ]
    fake.enqueue(Reply(frames=frames))
    pieces, error = collect(provider_for(fake))
    assert pieces == ["Retinol "]
    assert isinstance(error, ChatProviderError)
    assert error.code == "assistant_unavailable"


def test_stream_refused_before_it_starts(fake: FakeBedrock) -> None:
    fake.enqueue(error_reply(503, "ServiceUnavailableException"))
    pieces, error = collect(provider_for(fake))
    assert pieces == []
    assert isinstance(error, ChatProviderError)


def test_stream_stopped_by_a_guardrail_is_invalid(fake: FakeBedrock) -> None:
    fake.enqueue(stream_reply([], stop_reason="guardrail_intervened"))
    pieces, error = collect(provider_for(fake))
    assert pieces == []
    assert isinstance(error, ChatProviderError)
    assert error.code == "assistant_invalid_response"


def test_doctor_check_is_a_one_token_converse(fake: FakeBedrock) -> None:
    fake.enqueue(text_reply("p", stop_reason="max_tokens"))
    ok, message = provider_for(fake).doctor_check()
    assert ok is True
    assert MODEL in message
    assert "bedrock:InvokeModel" in message
    assert fake.requests[-1].body["inferenceConfig"] == {"maxTokens": 1}

    fake.enqueue(error_reply(403, "AccessDeniedException"))
    ok, message = provider_for(fake).doctor_check()
    assert ok is False
    assert "AccessDeniedException" in message
    assert "bedrock:InvokeModel" in message
