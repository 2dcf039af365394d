"""A call run in a thread of its own while the caller does other work; its outcome is
collected later, and what it raised is raised in the caller's thread.

The thread runs in a copy of the caller's context variables, so its log lines carry the
same request id and user id.
"""

import contextvars
import threading
from collections.abc import Callable
from typing import Generic, TypeVar, cast

T = TypeVar("T")


class Beside(Generic[T]):
    """`work()` in a daemon thread named `name`, from `start()` until `result()`/`wait()`."""

    def __init__(self, work: Callable[[], T], *, name: str | None = None) -> None:
        self._work = work
        self._result: T | None = None
        self._error: Exception | None = None
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._run,), name=name, daemon=True)

    def start(self) -> "Beside[T]":
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self._result = self._work()
        except Exception as exc:  # noqa: BLE001 - raised again in the caller by result()
            self._error = exc

    def wait(self) -> None:
        """Until the work is over (its outcome unused)."""
        self._thread.join()

    def result(self) -> T:
        """The work's outcome; an error it raised is raised here."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return cast(T, self._result)
