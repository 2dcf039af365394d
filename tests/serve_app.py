"""A tiny ASGI app for the launcher's tests (tests/test_serve.py): it answers with the id of
the process that served the request, so a test sees which worker took a connection without
the real API exposing it, and leaves a mark in SERVE_TEST_MARKS when its lifespan starts and
when it shuts down."""

import asyncio
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

Scope = dict[str, Any]


def create_app() -> Any:
    """The app; SERVE_TEST_FAIL_STARTUP=1 makes its lifespan startup fail, and
    SERVE_TEST_STARTUP_SECONDS makes it take that long (a worker still starting)."""
    marks = Path(os.environ["SERVE_TEST_MARKS"])
    fail = os.environ.get("SERVE_TEST_FAIL_STARTUP") == "1"
    startup_seconds = float(os.environ.get("SERVE_TEST_STARTUP_SECONDS", "0"))

    def mark(name: str) -> None:
        (marks / f"{name}-{os.getpid()}").write_text(f"{time.time():.3f}")

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await asyncio.sleep(startup_seconds)
                    if fail:
                        await send({"type": "lifespan.startup.failed", "message": "told to fail"})
                        return
                    mark("started")
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    mark("stopped")
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if scope["path"] == "/slow":
            # A request still open when the stop signal comes: it must be answered.
            mark("slow-began")
            await asyncio.sleep(float(parse_qs(scope["query_string"].decode())["seconds"][0]))
            mark("slow-answered")
        body = str(os.getpid()).encode()
        headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app
