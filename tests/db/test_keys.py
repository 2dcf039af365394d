"""Keys built in app/db/keys.py match what earlier releases wrote (stored items stay reachable)."""

import hashlib

from app.db import keys


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def test_users_table_keys_are_the_stored_ones() -> None:
    assert keys.user_key("01U") == {"user_id": {"S": "01U"}}
    assert keys.email_guard_key("ada@example.com") == {"user_id": {"S": "email#ada@example.com"}}
    assert keys.is_email_guard("email#ada@example.com")
    assert not keys.is_email_guard("01U")


def test_records_owners_hash_what_they_name_as_before() -> None:
    assert keys.record_key("01U", "plan#slot") == {"user_id": {"S": "01U"}, "sk": {"S": "plan#slot"}}
    assert keys.login_owner("account", "ada@example.com") == "login#account#" + _sha("ada@example.com")[:32]
    assert keys.login_owner("ip", "10.0.0.0/64") == "login#ip#" + _sha("10.0.0.0/64")[:32]
    assert keys.password_reset_owner("ada@example.com") == "reset#" + _sha("ada@example.com")[:32]
    assert keys.register_ip_owner("10.0.0.1") == "register#ip#" + _sha("10.0.0.1")[:32]
    assert keys.onetime_owner("tok") == "onetime#" + _sha("tok")
    assert keys.login_budget_sk("493000") == "login-budget#493000"


def test_a_token_ref_points_back_at_its_token() -> None:
    owner = keys.onetime_owner("a-secret-token")
    ref = keys.onetime_ref_sk(owner)
    assert ref.startswith(keys.ONETIME_REF_PREFIX)
    assert "a-secret-token" not in ref
    assert keys.onetime_owner_from_ref(ref) == owner
