"""Every DynamoDB key and key prefix of every table, in one place.

Repositories build their `Key=` dicts and key strings here and nowhere else, so a reader
(or the erasure test, which walks every `*_PREFIX`, `*_PARTITION` and `*_SK` constant of this
module) sees the whole key space at once.

Sections are per table and per domain; each domain keeps its own section.
"""

import hashlib
from typing import Any

from app.db.dynamodb import to_attr


def _digest(value: str, length: int = 64) -> str:
    # Hashed: the records table need not hold raw emails, addresses or tokens.
    return hashlib.sha256(value.encode()).hexdigest()[:length]


# --- users ---
# Users table: PK `user_id`. A user item sits under its id; each account's email guard (one
# account per email, written in the same transaction as the user) under `email#<email>`.

EMAIL_GUARD_PREFIX = "email#"


def user_key(user_id: str) -> dict[str, Any]:
    """The user item's key."""
    return {"user_id": to_attr(user_id)}


def email_guard_id(email: str) -> str:
    """The partition key of an email's guard item."""
    return EMAIL_GUARD_PREFIX + email


def email_guard_key(email: str) -> dict[str, Any]:
    """The email guard item's key."""
    return {"user_id": to_attr(email_guard_id(email))}


def is_email_guard(user_id: str) -> bool:
    """True for a guard item's partition key (never a user)."""
    return user_id.startswith(EMAIL_GUARD_PREFIX)


# --- records ---
# Records table: PK `user_id` (the *owner*: a user id, or a hashed non-user owner below),
# SK `sk`. A user's own items sit in their partition; counters about an email, an address or
# a token sit under a hashed owner so the table holds no raw emails, addresses or tokens.


def record_key(owner: str, sk: str) -> dict[str, Any]:
    """A records item's key."""
    return {"user_id": to_attr(owner), "sk": to_attr(sk)}


# Rate-limit counters, `sk = ratelimit#<name>#<window>` in the limited owner's partition
# (built by `app.core.rate_limit`, which stays below db; the prefix is declared here).
RATE_LIMIT_PREFIX = "ratelimit#"

# Registrations per client address (owner; its counters are rate-limit items).
REGISTER_IP_PREFIX = "register#ip#"


def register_ip_owner(address: str) -> str:
    """The owner of an address's registration counter."""
    return REGISTER_IP_PREFIX + _digest(address, 32)


# Password-reset requests per email (owner; its counters are rate-limit items).
PASSWORD_RESET_PREFIX = "reset#"


def password_reset_owner(email: str) -> str:
    """The owner of an email's password-reset counter."""
    return PASSWORD_RESET_PREFIX + _digest(email, 32)


# Sign-in counters: owner `login#account#<hash of email>` or `login#ip#<hash of address>`,
# one `login-attempts` item each, and the account's hourly `login-budget#<window>` items.
LOGIN_PREFIX = "login#"
LOGIN_ACCOUNT_PREFIX = LOGIN_PREFIX + "account#"
LOGIN_IP_PREFIX = LOGIN_PREFIX + "ip#"
LOGIN_ATTEMPTS_SK = "login-attempts"
LOGIN_BUDGET_PREFIX = "login-budget#"


def login_owner(kind: str, value: str) -> str:
    """The owner of the sign-in counters of an account (`kind="account"`) or an address (`"ip"`)."""
    return f"{LOGIN_PREFIX}{kind}#" + _digest(value, 32)


def login_budget_sk(window: str) -> str:
    """The sort key of an account's failed-attempt budget for one window."""
    return LOGIN_BUDGET_PREFIX + window


# Single-use tokens (email verification, password reset): owner `onetime#<hash of token>`,
# `sk = token`; the issuing user's partition holds `onetime-ref#<same hash>` so an account
# erasure finds (and deletes) its outstanding tokens without knowing them.
ONETIME_PREFIX = "onetime#"
ONETIME_TOKEN_SK = "token"
ONETIME_REF_PREFIX = "onetime-ref#"


def onetime_owner(token: str) -> str:
    """The owner of a single-use token's item (only the hash is stored)."""
    return ONETIME_PREFIX + _digest(token)


def onetime_ref_sk(owner: str) -> str:
    """The sort key, in the user's partition, pointing at a token item's owner."""
    return ONETIME_REF_PREFIX + owner.removeprefix(ONETIME_PREFIX)


def onetime_owner_from_ref(sk: str) -> str:
    """The token item's owner a `onetime-ref#` sort key points at."""
    return ONETIME_PREFIX + sk.removeprefix(ONETIME_REF_PREFIX)


# Accounts whose erasure has started: `sk = <user_id>` (cleared when it finished).
ACCOUNT_DELETIONS_PARTITION = "system#account-deletions"
