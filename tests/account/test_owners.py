"""A domain plugs into account export and erasure by registering a `UserDataOwner`."""

from typing import Any

import pytest

from app.account.owners import ImageUrl
from app.account.service import AccountService
from tests.conftest import PASSWORD


class JournalData:
    """A stand-in for a future domain: remembers what it was asked."""

    name = "journal"

    def __init__(self) -> None:
        self.erased: list[tuple[str, str]] = []

    def erase_user(self, *, user_id: str, email: str) -> dict[str, int]:
        self.erased.append((user_id, email))
        return {"journal_entries": 1}

    def export_user(self, *, user_id: str, image_url: ImageUrl) -> dict[str, Any]:
        return {"journal": [{"owner": user_id, "text": "day one"}]}


def _service(container: Any, journal: JournalData) -> AccountService:
    return AccountService(
        users=container.users,
        owners=[journal],
        records=container.records,
        mailer=container.mailer,
        limiter=container.limiter,
        link_base_url="https://app.example/",
        token_minutes=30,
        reset_requests_per_hour=5,
    )


def test_a_registered_owner_is_exported_and_erased_without_account_code(
    container: Any, user: dict[str, Any]
) -> None:
    journal = JournalData()
    account = _service(container, journal)
    stored = container.users.get(user_id=user["user"]["user_id"])
    exported = account.export(user=stored, image_url=str)
    assert exported["journal"] == [{"owner": stored.user_id, "text": "day one"}]
    assert exported["profile"]["email"] == user["email"]
    account.delete_account(user=stored, password=PASSWORD)
    assert journal.erased == [(stored.user_id, stored.email)]
    assert container.users.get(user_id=stored.user_id) is None, "the account itself is erased last"


def test_an_owner_that_fails_leaves_the_account_and_its_marker_for_a_retry(
    container: Any, user: dict[str, Any]
) -> None:
    journal = JournalData()

    def broken(**_: Any) -> dict[str, int]:
        raise RuntimeError("journal table unavailable")

    journal.erase_user = broken  # type: ignore[method-assign]
    account = _service(container, journal)
    stored = container.users.get(user_id=user["user"]["user_id"])
    with pytest.raises(RuntimeError):
        account.delete_account(user=stored, password=PASSWORD)
    assert container.users.get(user_id=stored.user_id) is not None
    assert container.records.get(owner="system#account-deletions", key=stored.user_id) is not None
    assert account.resume_pending_deletions()["failed"] >= 1  # other tests' markers may be pending too
    assert container.records.get(owner="system#account-deletions", key=stored.user_id) is not None
    journal.erase_user = JournalData().erase_user  # type: ignore[method-assign]
    assert account.resume_pending_deletions()["resumed"] >= 1
    assert container.users.get(user_id=stored.user_id) is None
