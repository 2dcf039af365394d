"""Argon2 slots are shared out between the API's worker processes."""

import os
from collections.abc import Iterator

import pytest

from app.core import security


@pytest.fixture
def restore_slots() -> Iterator[None]:
    before = security._hash_slots.slots
    yield
    security.configure_password_hashing(concurrency=before)


pytestmark = pytest.mark.usefixtures("restore_slots")


@pytest.mark.parametrize(("cores", "processes", "slots"), [(4, 1, 4), (4, 2, 2), (2, 2, 1), (2, 4, 1)])
def test_each_process_gets_its_share_of_the_cores(
    monkeypatch: pytest.MonkeyPatch, cores: int, processes: int, slots: int
) -> None:
    """Two processes with a slot per core each would run twice as many 64 MiB hashes as cores."""
    monkeypatch.setattr(security.os, "cpu_count", lambda: cores)
    security.configure_password_hashing(concurrency=0, processes=processes)
    assert security._hash_slots.slots == slots
    assert security.verify_password("secret words", security.hash_password("secret words"))


def test_an_explicit_concurrency_is_per_process_as_set() -> None:
    security.configure_password_hashing(concurrency=3, processes=2)
    assert security._hash_slots.slots == 3


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
def test_hashes_run_only_on_cores_the_requests_leave_idle() -> None:
    """Under a burst of sign-ins every other request still gets the cores first."""
    security.configure_password_hashing(concurrency=1)
    assert security.verify_password("secret words", security.hash_password("secret words"))
    policy = security._hash_slots.pool.submit(os.sched_getscheduler, 0).result()
    assert policy == os.SCHED_IDLE
    assert os.sched_getscheduler(0) == os.SCHED_OTHER, "the caller's own thread is left as it was"
