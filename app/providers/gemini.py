"""The one place that builds a google-genai client and sorts its failures.

Timeouts and retries live in the SDK's `HttpOptions`, so the sync (vision) and async (chat)
paths behave the same: each HTTP attempt gets `timeout_seconds`; 408/429/5xx answers,
timeouts and refused connections are retried with jittered exponential backoff. The SDK's
timeout is per connect/read, not per answer, so the chat provider also holds each answer to
a total deadline (`GeminiChatProvider`, GEMINI_DEADLINE_SECONDS); see `worst_case_seconds`
for what the attempts alone may add up to.
"""

import json
import logging

import httpx2
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from app.core.config import Settings

logger = logging.getLogger("dermalens.gemini")

# Pinned rather than left to the SDK default (v1 in this release): structured output and
# system instructions are documented against v1beta.
API_VERSION = "v1beta"
DEFAULT_BACKOFF_SECONDS = 1.0
# The whole of one chat answer, attempts and backoff included (GEMINI_DEADLINE_SECONDS).
DEFAULT_DEADLINE_SECONDS = 20.0
MAX_BACKOFF_SECONDS = 10.0
RETRYABLE_STATUS_CODES = (408, 429, 500, 502, 503, 504)

# The remote side is down, slow, rate limiting or refusing us: worth retrying later.
# google-genai 3.x requires httpx2 and talks through it (it would fall back to httpx only
# if httpx2 were missing, or if we handed it an httpx client, which we never do).
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    genai_errors.APIError,
    httpx2.TransportError,
)
# The remote side answered, but not with anything the SDK could decode.
UNDECODABLE_ERRORS: tuple[type[Exception], ...] = (
    genai_errors.UnknownApiResponseError,
    json.JSONDecodeError,
)


def build_gemini_client(
    *,
    api_key: str,
    base_url: str = "",
    timeout_seconds: float,
    max_retries: int,
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
) -> genai.Client:
    """A Gemini Developer API client; `base_url` empty means Google's endpoint."""
    if not api_key:
        raise ValueError("The gemini provider needs GEMINI_API_KEY")
    retry = types.HttpRetryOptions(
        attempts=max(0, max_retries) + 1,
        initial_delay=backoff_seconds,
        max_delay=max(backoff_seconds, MAX_BACKOFF_SECONDS),
        exp_base=2.0,
        # Up to one initial delay of randomness, so clients rate limited together spread out.
        jitter=backoff_seconds,
        http_status_codes=list(RETRYABLE_STATUS_CODES),
    )
    options = types.HttpOptions(
        base_url=base_url or None,
        api_version=API_VERSION,
        # The SDK takes milliseconds; 0 would mean "no timeout", so never round down to it.
        timeout=max(1, round(timeout_seconds * 1000)),
        retry_options=retry,
    )
    # vertexai=False: GOOGLE_GENAI_USE_VERTEXAI in the environment must not reroute us.
    return genai.Client(vertexai=False, api_key=api_key, http_options=options)


def worst_case_seconds(*, timeout_seconds: float, max_retries: int, backoff_seconds: float) -> float:
    """The longest the SDK's own attempts can take when each one times out (no deadline)."""
    attempts = max(0, max_retries) + 1
    # tenacity's wait_exponential_jitter: initial * 2**n plus up to `jitter`, capped at max_delay.
    cap = max(backoff_seconds, MAX_BACKOFF_SECONDS)
    waits = sum(min(backoff_seconds * 2.0**retry + backoff_seconds, cap) for retry in range(attempts - 1))
    return attempts * timeout_seconds + waits


def gemini_client_from_settings(settings: Settings) -> genai.Client:
    """The client described by GEMINI_* settings."""
    return build_gemini_client(
        api_key=settings.gemini_api_key,
        base_url=settings.gemini_base_url,
        timeout_seconds=settings.gemini_timeout_seconds,
        max_retries=settings.gemini_max_retries,
    )


def describe_error(exc: Exception) -> str:
    """A short, secret-free description for logs (status code or exception type)."""
    if isinstance(exc, genai_errors.APIError):
        return f"HTTP {exc.code} {exc.status or ''}".strip()
    return type(exc).__name__


def gemini_doctor_check(client: genai.Client, model: str) -> tuple[bool, str]:
    """Reachable, key accepted, model known: one `models.get` (no tokens are spent)."""
    try:
        client.models.get(model=model)
    except UNAVAILABLE_ERRORS + UNDECODABLE_ERRORS as exc:
        return False, f"gemini model {model} is not reachable: {describe_error(exc)}"
    return True, f"gemini model {model} answered (models.get)"
