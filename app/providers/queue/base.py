"""The analysis job queue: what a submit sends and what the workers receive."""

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class QueuedJob:
    """One analysis job as received; `receipt` identifies this delivery to `done`."""

    user_id: str
    scan_id: str
    receipt: str
    receive_count: int = 1


class JobQueue(Protocol):
    """A queue shared by every instance (the in-process default needs none of this)."""

    name: str

    def send(self, *, user_id: str, scan_id: str) -> None:
        """Queue one scan for analysis."""
        ...

    def receive(self, *, max_jobs: int, wait_seconds: int) -> list[QueuedJob]:
        """Wait up to `wait_seconds` for jobs; each stays hidden from others until `done` or its timeout."""
        ...

    def done(self, *, job: QueuedJob) -> None:
        """Forget a delivered job (analysed, or nothing left to do)."""
        ...

    def depth(self) -> int:
        """Jobs waiting (approximate, as the queue reports it)."""
        ...

    def doctor_check(self) -> tuple[bool, str]:
        """(ready, one-line explanation) for `python -m app.cli doctor`."""
        ...
