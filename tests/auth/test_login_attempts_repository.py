"""Sign-in counters against DynamoDB Local: admission before the password check, locks, budgets."""

from collections.abc import Iterator
from typing import Any

import pytest

from app.auth.login_attempts import Admission, LoginAttemptsRepository
from app.core.security import new_id
from tests.helpers import in_threads

NOW = 1_800_000_000.0
LATER = int(NOW) + 3600


@pytest.fixture
def attempts(container: Any) -> LoginAttemptsRepository:
    return LoginAttemptsRepository(container.dynamodb, container.records.table_name)


@pytest.fixture
def owner(container: Any) -> Iterator[str]:
    name = f"account#{new_id()}"
    yield name
    container.records.delete_partition(owner=name)


def admit(
    attempts: LoginAttemptsRepository, owner: str, *, now: float = NOW, threshold: int = 3
) -> Admission:
    return attempts.admit(
        owner=owner, now=now, threshold=threshold, stale_before=now - 60, expires_at_epoch=LATER
    )


def test_attempts_are_admitted_up_to_the_threshold(attempts: LoginAttemptsRepository, owner: str) -> None:
    admitted = [admit(attempts, owner) for _ in range(4)]
    assert [a.admitted for a in admitted] == [True, True, True, False]
    assert [a.attempts for a in admitted] == [1, 2, 3, 3]


def test_concurrent_guesses_cannot_all_pass_the_threshold(
    attempts: LoginAttemptsRepository, owner: str
) -> None:
    results = in_threads(8, lambda: admit(attempts, owner))
    assert sum(a.admitted for a in results) == 3


def test_a_lock_refuses_everything_until_it_ends_then_admits_one_more(
    attempts: LoginAttemptsRepository, owner: str
) -> None:
    for _ in range(3):
        admit(attempts, owner)
    attempts.lock(owner=owner, attempts=3, locked_until=NOW + 30)
    refused = admit(attempts, owner, now=NOW + 29)
    assert not refused.admitted
    assert refused.locked_until == NOW + 30
    after = admit(attempts, owner, now=NOW + 31)
    assert after.admitted
    assert after.attempts == 4
    assert not admit(attempts, owner, now=NOW + 32).admitted  # one more, not a fresh threshold


def test_a_lock_is_never_shortened(attempts: LoginAttemptsRepository, owner: str) -> None:
    admit(attempts, owner)
    attempts.lock(owner=owner, attempts=1, locked_until=NOW + 300)
    attempts.lock(owner=owner, attempts=1, locked_until=NOW + 10)
    assert admit(attempts, owner, now=NOW + 100).locked_until == NOW + 300


def test_clear_and_release_give_attempts_back(attempts: LoginAttemptsRepository, owner: str) -> None:
    for _ in range(3):
        admit(attempts, owner)
    attempts.release(owner=owner)
    assert admit(attempts, owner).admitted
    attempts.clear(owner=owner)
    assert admit(attempts, owner).attempts == 1
    attempts.clear(owner=owner)
    attempts.release(owner=owner)  # nothing to give back: no error, never below zero
    assert admit(attempts, owner).attempts == 1


def test_an_expired_counter_is_forgotten_even_before_ttl_deletes_it(
    attempts: LoginAttemptsRepository, owner: str
) -> None:
    for _ in range(3):
        admit(attempts, owner)
    attempts.lock(owner=owner, attempts=3, locked_until=LATER + 100.0)
    fresh = admit(attempts, owner, now=LATER + 1)
    assert fresh.admitted
    assert fresh.attempts == 1


def test_a_budget_admits_its_limit_per_window(attempts: LoginAttemptsRepository, owner: str) -> None:
    spent = [
        attempts.spend_budget(owner=owner, window="h1", limit=2, expires_at_epoch=LATER) for _ in range(3)
    ]
    assert spent == [True, True, False]
    attempts.refund_budget(owner=owner, window="h1")
    assert attempts.spend_budget(owner=owner, window="h1", limit=2, expires_at_epoch=LATER)
    assert attempts.spend_budget(owner=owner, window="h2", limit=2, expires_at_epoch=LATER)
    racing = in_threads(
        6, lambda: attempts.spend_budget(owner=owner, window="h3", limit=2, expires_at_epoch=LATER)
    )
    assert sum(racing) == 2
