"""Argon2 slots are shared out between the API's worker processes."""

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
