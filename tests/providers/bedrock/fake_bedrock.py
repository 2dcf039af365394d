"""A fake Bedrock Runtime: a real HTTP server on 127.0.0.1 that boto3 talks to via `endpoint_url`.

Tests script replies in order (`enqueue`) and read back what boto3 sent (`requests`). The
wire format is Bedrock's REST-JSON: `POST /model/{modelId}/converse` answers one JSON
document, `POST /model/{modelId}/converse-stream` answers AWS event-stream binary frames
(prelude, headers, JSON payload, CRC32s) over chunked transfer. Errors carry their code in
`X-Amzn-ErrorType`, as the real service does. A stream can be cut after N frames: the
socket closes without the final chunk, exactly like a connection dropped mid-answer.
"""

import json
import struct
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a JSON body (or raw text), or a list of stream frames."""

    status: int = 200
    body: JsonObject | str | None = None
    error_type: str = ""
    frames: list[bytes] | None = None
    delay_seconds: float = 0.0
    cut_after_frames: int | None = None
    cut_body_at: int | None = None  # JSON replies: send this many bytes of the body, then hang up


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    model_id: str
    body: JsonObject

    @property
    def system_text(self) -> str:
        return "\n".join(block.get("text", "") for block in self.body.get("system", []))


def _header(name: str, value: str) -> bytes:
    raw = value.encode()
    return bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(raw)) + raw


def frame(headers: dict[str, str], payload: JsonObject) -> bytes:
    """One event-stream message: total length, headers length, prelude CRC, headers, payload, CRC."""
    header_bytes = b"".join(_header(k, v) for k, v in headers.items())
    body = json.dumps(payload).encode()
    prelude = struct.pack(">II", 12 + len(header_bytes) + len(body) + 4, len(header_bytes))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + header_bytes + body
    return message + struct.pack(">I", zlib.crc32(message))


def event(event_type: str, payload: JsonObject) -> bytes:
    return frame(
        {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}, payload
    )


def exception_frame(exception_type: str, message: str) -> bytes:
    return frame(
        {
            ":exception-type": exception_type,
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        {"message": message},
    )


def text_reply(text: str, stop_reason: str = "end_turn") -> Reply:
    return Reply(
        body={
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": stop_reason,
            "usage": {"inputTokens": 900, "outputTokens": 120, "totalTokens": 1020},
            "metrics": {"latencyMs": 321},
        }
    )


def tool_reply(name: str, tool_input: Any, stop_reason: str = "tool_use") -> Reply:
    return Reply(
        body={
            "output": {
                "message": {
                    "role": "assistant",
                    "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": name, "input": tool_input}}],
                }
            },
            "stopReason": stop_reason,
            "usage": {"inputTokens": 3000, "outputTokens": 400, "totalTokens": 3400},
            "metrics": {"latencyMs": 900},
        }
    )


def error_reply(status: int, error_type: str, message: str = "nope") -> Reply:
    return Reply(status=status, error_type=error_type, body={"message": message})


def stream_reply(
    pieces: list[str], *, stop_reason: str = "end_turn", cut_after_frames: int | None = None
) -> Reply:
    frames = [event("messageStart", {"role": "assistant"})]
    frames += [event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": p}}) for p in pieces]
    frames += [
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event("messageStop", {"stopReason": stop_reason}),
        event(
            "metadata",
            {
                "usage": {"inputTokens": 900, "outputTokens": 40, "totalTokens": 940},
                "metrics": {"latencyMs": 50},
            },
        ),
    ]
    return Reply(frames=frames, cut_after_frames=cut_after_frames)


class FakeBedrock:
    """Serves scripted replies; with none queued, answers 500 (a test forgot to enqueue)."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                parts = self.path.split("/")
                model_id = unquote(parts[2]) if len(parts) > 2 else ""
                with fake._lock:
                    fake.requests.append(
                        RecordedRequest(path=self.path, model_id=model_id, body=json.loads(raw or b"{}"))
                    )
                    reply = (
                        fake.replies.popleft()
                        if fake.replies
                        else Reply(
                            status=500,
                            body={"message": "no reply queued"},
                            error_type="InternalServerException",
                        )
                    )
                if reply.delay_seconds:
                    time.sleep(reply.delay_seconds)
                try:
                    if reply.frames is not None:
                        self._stream(reply)
                    else:
                        self._json(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def _json(self, reply: Reply) -> None:
                body = reply.body if isinstance(reply.body, str) else json.dumps(reply.body or {})
                data = body.encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if reply.error_type:
                    self.send_header(
                        "X-Amzn-ErrorType", f"{reply.error_type}:http://internal.amazon.com/coral/"
                    )
                self.end_headers()
                if reply.cut_body_at is not None:
                    self.wfile.write(data[: reply.cut_body_at])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(data)

            def _stream(self, reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/vnd.amazon.eventstream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for index, data in enumerate(reply.frames or []):
                    if reply.cut_after_frames is not None and index >= reply.cut_after_frames:
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(2)  # no final chunk: the body ends mid-answer
                        return
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def enqueue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def __enter__(self) -> "FakeBedrock":
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
