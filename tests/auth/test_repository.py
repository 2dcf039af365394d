"""Users repository against DynamoDB Local: email uniqueness, lookups, sessions, password changes."""

import threading
from typing import Any

import pytest

from app.auth.repository import (
    AccountGoneError,
    AuthSession,
    EmailTakenError,
    UserRecord,
    UsersRepository,
)
from app.core.errors import DomainError
from app.core.security import new_id
from tests.factories import user_record


@pytest.fixture
def users(container: Any) -> UsersRepository:
    return container.users


@pytest.fixture
def stored(users: UsersRepository) -> UserRecord:
    user = user_record()
    users.create(user=user)
    return user


def session(jti: str = "jti-1") -> AuthSession:
    return AuthSession(current_jti=jti, created_at="2026-01-01T00:00:00Z", expires_at="2026-02-01T00:00:00Z")


def test_create_then_get_by_id_and_by_email(users: UsersRepository) -> None:
    user = user_record(full_name="Ada", concerns=["acne"], timezone="Europe/Paris")
    users.create(user=user)
    assert users.get(user_id=user.user_id) == user
    assert users.get_by_email(email=user.email) == user
    assert users.get_by_email(email="nobody-" + user.email) is None
    assert users.get(user_id=new_id()) is None


def test_the_email_guard_is_never_returned_as_a_user(users: UsersRepository, stored: UserRecord) -> None:
    assert users.get(user_id="email#" + stored.email) is None


def test_a_second_account_with_the_same_email_is_refused(users: UsersRepository, stored: UserRecord) -> None:
    with pytest.raises(EmailTakenError):
        users.create(user=user_record(email=stored.email))
    assert users.get_by_email(email=stored.email) == stored


def register_concurrently(users: UsersRepository, candidates: list[UserRecord]) -> dict[str, str]:
    """Create every candidate at the same moment, one thread each; user_id → created | taken."""
    barrier = threading.Barrier(len(candidates))
    outcomes: dict[str, str] = {}

    def register(candidate: UserRecord) -> None:
        barrier.wait()
        try:
            users.create(user=candidate)
            outcomes[candidate.user_id] = "created"
        except EmailTakenError:
            outcomes[candidate.user_id] = "taken"

    threads = [threading.Thread(target=register, args=(c,)) for c in candidates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_racing_registrations_for_one_email_create_exactly_one_account(users: UsersRepository) -> None:
    for _ in range(5):
        email = f"race-{new_id().lower()}@example.com"
        candidates = [user_record(email=email) for _ in range(2)]
        outcomes = register_concurrently(users, candidates)
        winners = [uid for uid, outcome in outcomes.items() if outcome == "created"]
        assert len(outcomes) == 2, outcomes
        assert len(winners) == 1, outcomes
        owner = users.get_by_email(email=email)
        assert owner is not None
        assert owner.user_id == winners[0]
        loser = next(c for c in candidates if c.user_id != winners[0])
        assert users.get(user_id=loser.user_id) is None  # all or nothing


def test_delete_frees_the_email_and_is_idempotent(users: UsersRepository, stored: UserRecord) -> None:
    users.delete(user_id=stored.user_id, email=stored.email)
    assert users.get(user_id=stored.user_id) is None
    assert users.get_by_email(email=stored.email) is None
    users.delete(user_id=stored.user_id, email=stored.email)
    newcomer = user_record(email=stored.email)
    users.create(user=newcomer)
    assert users.get_by_email(email=stored.email) == newcomer


def test_update_profile_sets_and_removes_attributes(users: UsersRepository) -> None:
    user = user_record(full_name="Ada", skin_type="oily")
    users.create(user=user)
    updated = users.update_profile(
        user_id=user.user_id,
        changes={"full_name": None, "skin_type": "dry", "concerns": ["redness"]},
        updated_at="2026-05-01T00:00:00Z",
    )
    assert updated.full_name is None
    assert updated.skin_type == "dry"
    assert updated.concerns == ["redness"]
    assert updated.updated_at == "2026-05-01T00:00:00Z"
    assert users.get(user_id=user.user_id) == updated


def test_update_profile_of_a_gone_account_is_a_domain_error(users: UsersRepository) -> None:
    with pytest.raises(DomainError):
        users.update_profile(
            user_id=new_id(), changes={"full_name": "Ghost"}, updated_at="2026-05-01T00:00:00Z"
        )
    assert users.get_by_email(email="ghost@example.com") is None


def test_update_profile_of_an_account_being_deleted_is_refused_and_changes_nothing(
    users: UsersRepository, stored: UserRecord
) -> None:
    users.mark_deletion_requested(user_id=stored.user_id, requested_at="2026-05-01T00:00:00Z")
    with pytest.raises(AccountGoneError) as raised:
        users.update_profile(
            user_id=stored.user_id, changes={"full_name": "Late"}, updated_at="2026-05-01T00:00:01Z"
        )
    assert (raised.value.status_code, raised.value.code) == (401, "account_deleted")
    assert users.get(user_id=stored.user_id).full_name == stored.full_name


# ---- sessions ----


def test_add_session_records_it_and_drops_the_named_old_ones(
    users: UsersRepository, stored: UserRecord
) -> None:
    uid = stored.user_id
    assert users.add_session(
        user_id=uid, session_id="a", session=session("ja"), drop=[], credentials_version=0
    )
    assert users.add_session(
        user_id=uid, session_id="b", session=session("jb"), drop=[], credentials_version=0
    )
    assert users.add_session(
        user_id=uid, session_id="c", session=session("jc"), drop=["a"], credentials_version=0
    )
    sessions = users.get(user_id=uid).sessions
    assert sorted(sessions) == ["b", "c"]
    assert sessions["c"].current_jti == "jc"


def test_add_session_is_refused_for_a_missing_or_deleting_account(
    users: UsersRepository, stored: UserRecord
) -> None:
    assert not users.add_session(
        user_id=new_id(), session_id="a", session=session(), drop=[], credentials_version=0
    )
    users.mark_deletion_requested(user_id=stored.user_id, requested_at="2026-01-02T00:00:00Z")
    assert not users.add_session(
        user_id=stored.user_id, session_id="a", session=session(), drop=[], credentials_version=0
    )
    assert users.get(user_id=stored.user_id).sessions == {}


def test_rotate_session_only_from_the_current_jti(users: UsersRepository, stored: UserRecord) -> None:
    uid = stored.user_id
    users.add_session(user_id=uid, session_id="s", session=session("j1"), drop=[], credentials_version=0)
    assert users.rotate_session(
        user_id=uid,
        session_id="s",
        old_jti="j1",
        new_jti="j2",
        expires_at="2026-03-01T00:00:00Z",
        issued_at=100,
    )
    current = users.get(user_id=uid).sessions["s"]
    assert (current.current_jti, current.previous_jti, current.issued_at) == ("j2", "j1", 100)
    assert current.expires_at == "2026-03-01T00:00:00Z"
    # A replayed (already rotated) token cannot rotate again, nor can one for an unknown family.
    assert not users.rotate_session(
        user_id=uid, session_id="s", old_jti="j1", new_jti="j3", expires_at="x", issued_at=101
    )
    assert not users.rotate_session(
        user_id=uid, session_id="nope", old_jti="j2", new_jti="j3", expires_at="x", issued_at=101
    )
    assert users.get(user_id=uid).sessions["s"].current_jti == "j2"


def test_racing_rotations_of_one_token_let_exactly_one_win(
    users: UsersRepository, stored: UserRecord
) -> None:
    uid = stored.user_id
    users.add_session(user_id=uid, session_id="s", session=session("j0"), drop=[], credentials_version=0)
    barrier = threading.Barrier(4)
    won: list[str] = []

    def rotate(new_jti: str) -> None:
        barrier.wait()
        if users.rotate_session(
            user_id=uid, session_id="s", old_jti="j0", new_jti=new_jti, expires_at="x", issued_at=1
        ):
            won.append(new_jti)

    threads = [threading.Thread(target=rotate, args=(f"n{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    assert users.get(user_id=uid).sessions["s"].current_jti == won[0]


def test_rotate_is_refused_once_deletion_is_requested(users: UsersRepository, stored: UserRecord) -> None:
    uid = stored.user_id
    users.add_session(user_id=uid, session_id="s", session=session("j1"), drop=[], credentials_version=0)
    users.mark_deletion_requested(user_id=uid, requested_at="2026-01-02T00:00:00Z")
    assert not users.rotate_session(
        user_id=uid, session_id="s", old_jti="j1", new_jti="j2", expires_at="x", issued_at=1
    )


def test_remove_sessions_revokes_only_those_named(users: UsersRepository, stored: UserRecord) -> None:
    uid = stored.user_id
    for sid in ("a", "b", "c"):
        users.add_session(user_id=uid, session_id=sid, session=session(sid), drop=[], credentials_version=0)
    users.remove_sessions(user_id=uid, session_ids=["a", "c", "missing"])
    assert sorted(users.get(user_id=uid).sessions) == ["b"]
    users.remove_sessions(user_id=uid, session_ids=[])
    users.remove_sessions(user_id=new_id(), session_ids=["a"])  # a gone account is no error


# ---- password ----


def test_set_password_revokes_every_other_session_and_bumps_the_version(
    users: UsersRepository, stored: UserRecord
) -> None:
    uid = stored.user_id
    for sid in ("keep", "other"):
        users.add_session(user_id=uid, session_id=sid, session=session(sid), drop=[], credentials_version=0)
    assert users.set_password(
        user_id=uid, password_hash="new-hash", changed_at="2026-04-01T00:00:00Z", keep_session_id="keep"
    )
    after = users.get(user_id=uid)
    assert after.password_hash == "new-hash"
    assert after.password_changed_at == "2026-04-01T00:00:00Z"
    assert sorted(after.sessions) == ["keep"]
    assert after.credentials_version == 1


def test_set_password_without_a_kept_session_revokes_all(users: UsersRepository, stored: UserRecord) -> None:
    uid = stored.user_id
    users.add_session(user_id=uid, session_id="a", session=session(), drop=[], credentials_version=0)
    assert users.set_password(
        user_id=uid, password_hash="h", changed_at="2026-04-01T00:00:00Z", keep_session_id=None
    )
    assert users.get(user_id=uid).sessions == {}


def test_a_sign_in_checked_against_the_old_password_cannot_add_its_session(
    users: UsersRepository, stored: UserRecord
) -> None:
    uid = stored.user_id
    version_seen = users.get(user_id=uid).credentials_version
    users.set_password(
        user_id=uid, password_hash="h2", changed_at="2026-04-01T00:00:00Z", keep_session_id=None
    )
    assert not users.add_session(
        user_id=uid, session_id="late", session=session(), drop=[], credentials_version=version_seen
    )
    assert users.add_session(
        user_id=uid, session_id="fresh", session=session(), drop=[], credentials_version=version_seen + 1
    )
    assert sorted(users.get(user_id=uid).sessions) == ["fresh"]


def test_set_password_with_an_expected_version_refuses_a_stale_one(
    users: UsersRepository, stored: UserRecord
) -> None:
    uid = stored.user_id
    users.set_password(
        user_id=uid, password_hash="h1", changed_at="2026-04-01T00:00:00Z", keep_session_id=None
    )
    assert not users.set_password(
        user_id=uid,
        password_hash="h2",
        changed_at="2026-04-02T00:00:00Z",
        keep_session_id=None,
        expected_version=0,
    )
    assert users.get(user_id=uid).password_hash == "h1"
    assert users.set_password(
        user_id=uid,
        password_hash="h3",
        changed_at="2026-04-03T00:00:00Z",
        keep_session_id=None,
        expected_version=1,
    )
    assert users.get(user_id=uid).credentials_version == 2


def test_set_password_is_refused_for_a_missing_or_deleting_account(
    users: UsersRepository, stored: UserRecord
) -> None:
    assert not users.set_password(user_id=new_id(), password_hash="h", changed_at="x", keep_session_id=None)
    users.mark_deletion_requested(user_id=stored.user_id, requested_at="2026-01-02T00:00:00Z")
    assert not users.set_password(
        user_id=stored.user_id, password_hash="h", changed_at="x", keep_session_id=None
    )
    assert users.get(user_id=stored.user_id).password_hash == stored.password_hash


def test_set_email_verified_and_deletion_mark(users: UsersRepository, stored: UserRecord) -> None:
    uid = stored.user_id
    assert users.set_email_verified(user_id=uid, verified_at="2026-01-01T00:00:00Z")
    assert users.get(user_id=uid).email_verified is True
    users.mark_deletion_requested(user_id=uid, requested_at="2026-01-02T00:00:00Z")
    users.mark_deletion_requested(user_id=uid, requested_at="2026-01-03T00:00:00Z")
    assert users.get(user_id=uid).deletion_requested_at == "2026-01-02T00:00:00Z"  # the first mark stays
    assert not users.set_email_verified(user_id=uid, verified_at="2026-01-04T00:00:00Z")
    users.mark_deletion_requested(user_id=new_id(), requested_at="2026-01-02T00:00:00Z")  # no error
