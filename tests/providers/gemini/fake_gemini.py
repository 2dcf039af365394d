"""A fake Gemini API: a real HTTP server on 127.0.0.1 that the google-genai SDK talks to.

Tests script replies in order (`enqueue`) and read back what the SDK sent (`requests`). The
wire format follows the Gemini Developer API: `POST /v1beta/models/{model}:generateContent`
answers one JSON document; `:streamGenerateContent?alt=sse` answers `data: {...}` events.
"""

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from google import genai

from app.providers.gemini import build_gemini_client

FAKE_MODEL_VERSION = "gemini-fake-001"
JsonObject = dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a JSON body, raw text, or a list of SSE events."""

    status: int = 200
    body: JsonObject | str | None = None
    events: list[JsonObject] | None = None
    delay_seconds: float = 0.0
    event_delay_seconds: float = 0.0


@dataclass(frozen=True)
class RecordedRequest:
    """What the SDK sent, decoded."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: JsonObject

    @property
    def system_text(self) -> str:
        """The system instruction's text parts, joined."""
        parts = self.body.get("systemInstruction", {}).get("parts", [])
        return "\n".join(part.get("text", "") for part in parts)

    @property
    def parts(self) -> list[JsonObject]:
        """Every part of every content, in order."""
        return [part for content in self.body.get("contents", []) for part in content.get("parts", [])]


def response_json(
    text: str | None, *, finish_reason: str | None = "STOP", model_version: str = FAKE_MODEL_VERSION
) -> JsonObject:
    """A generateContent response whose first candidate says `text` (no candidate if None)."""
    body: JsonObject = {
        "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 5, "totalTokenCount": 17},
        "modelVersion": model_version,
    }
    if text is not None:
        candidate: JsonObject = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
        if finish_reason is not None:
            candidate["finishReason"] = finish_reason
        body["candidates"] = [candidate]
    return body


def text_reply(text: str, **kwargs: Any) -> Reply:
    """A 200 whose model output is `text`."""
    return Reply(body=response_json(text, **kwargs))


def error_reply(status: int, api_status: str, *, delay_seconds: float = 0.0) -> Reply:
    """An error in Google's envelope, e.g. 429 RESOURCE_EXHAUSTED."""
    body = {"error": {"code": status, "message": f"fake {api_status}", "status": api_status}}
    return Reply(status=status, body=body, delay_seconds=delay_seconds)


def stream_reply(pieces: list[str], *, event_delay_seconds: float = 0.0) -> Reply:
    """An SSE stream with one event per piece, the last one finishing with STOP."""
    last = len(pieces) - 1
    events = [
        response_json(piece, finish_reason="STOP" if i == last else None) for i, piece in enumerate(pieces)
    ]
    return Reply(events=events, event_delay_seconds=event_delay_seconds)


@dataclass
class _Script:
    replies: deque[Reply] = field(default_factory=deque)
    requests: list[RecordedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def do_POST(self) -> None:
        script = self.server.script
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        recorded = RecordedRequest(
            method="POST",
            path=url.path,
            query=url.query,
            headers={key.lower(): value for key, value in self.headers.items()},
            body=json.loads(raw) if raw else {},
        )
        with script.lock:
            script.requests.append(recorded)
            # Nothing scripted is a test bug: answer 501 (never retried) so it fails loudly.
            reply = script.replies.popleft() if script.replies else error_reply(501, "UNSCRIPTED")
        # The wait ends early when the server stops, so a slow reply never holds up teardown.
        if reply.delay_seconds and script.stopping.wait(reply.delay_seconds):
            return
        try:
            if reply.events is not None:
                self._send_events(reply, script.stopping)
            else:
                self._send_body(reply)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout) before we answered: expected in timeout tests

    def _send_body(self, reply: Reply) -> None:
        data = reply.body if isinstance(reply.body, str) else json.dumps(reply.body or {})
        payload = data.encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _send_events(self, reply: Reply, stopping: threading.Event) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()  # HTTP/1.0: the body ends when the connection closes
        for index, event in enumerate(reply.events or []):
            if index and reply.event_delay_seconds and stopping.wait(reply.event_delay_seconds):
                return
            self.wfile.write(f"data: {json.dumps(event)}\r\n\r\n".encode())
            self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, script: _Script) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script


class FakeGemini:
    """Start with `with FakeGemini() as fake:`; point the SDK at `fake.base_url`."""

    def __init__(self) -> None:
        self._script = _Script()
        self._server = _Server(self._script)
        # A short poll interval keeps shutdown (and so each test's teardown) quick.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._script.lock:
            return list(self._script.requests)

    def enqueue(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order."""
        with self._script.lock:
            self._script.replies.extend(replies)

    def clear(self) -> None:
        """Forget the replies not used yet."""
        with self._script.lock:
            self._script.replies.clear()

    def __enter__(self) -> "FakeGemini":
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._script.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def client_for(fake: "FakeGemini", *, timeout: float = 1.0, retries: int = 0) -> genai.Client:
    """A real SDK client pointed at the fake, with test-sized timeouts and backoff."""
    return build_gemini_client(
        api_key="test-key",
        base_url=fake.base_url,
        timeout_seconds=timeout,
        max_retries=retries,
        backoff_seconds=0.01,
    )
