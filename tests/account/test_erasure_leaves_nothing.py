"""A deleted account leaves nothing behind: in any table, under any key prefix, in storage.

The user gets data everywhere a user can (photos, a plan with a check-in, a chat session,
rate-limit counters, an idempotency guard, an upload awaiting its photos, a scan mid-analysis,
single-use tokens, sign-in counters), deletes the account over HTTP, and then every table of
`settings.table_names` and every key prefix declared in `app/db/keys.py` (and in the domain
repositories not yet moved there) is checked. A prefix added without a check here fails.
"""

import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.chat import repository as chat_keys
from app.core.config import Settings
from app.db import keys
from app.db.dynamodb import from_item, to_attr
from app.plans import repository as plan_keys
from app.scans import repository as scan_keys
from tests.conftest import PASSWORD
from tests.helpers import SCANS, send, today, upload_scan, wait_for
from tests.images import face_jpeg

AUTH = "/api/v1/auth"
KEY_PART_SUFFIXES = ("_PREFIX", "_PARTITION", "_SK")
KEY_MODULES: tuple[ModuleType, ...] = (keys, scan_keys, plan_keys, chat_keys)

# Counters about a client *address*, shared by everyone behind it: not the user's data, so
# an erasure leaves them to their TTL (an hour, a day). Anything else must be checked below.
NOT_USER_DATA = {
    keys.REGISTER_IP_PREFIX: "registrations per address",
    keys.LOGIN_IP_PREFIX: "sign-in attempts per address",
    keys.NOTIFY_SCHEDULER_PARTITION: "the reminder schedulers' shared progress (one item)",
    keys.NOTIFY_CURSOR_SK: "the reminder schedulers' shared progress (one item)",
    keys.LEASES_PARTITION: "which instance runs a periodic job in an interval",
}

CHECKED_BY_ERASURE_TEST = {
    # users table
    keys.EMAIL_GUARD_PREFIX,
    # records table, the user's partition
    keys.RATE_LIMIT_PREFIX,
    keys.ONETIME_REF_PREFIX,
    "idempotency#scan-create#",
    "plan#slot",
    keys.PREFERENCES_SK,
    keys.NOTIFICATION_PREFIX,
    keys.NOTIFICATION_FEED_SK,
    keys.NOTIFICATION_DEVICE_PREFIX,
    keys.NOTIFICATION_GUARD_PREFIX,
    keys.NOTIFICATION_SCHEDULE_SK,
    # records table, the reminder schedule index (system partitions, one per minute)
    keys.NOTIFY_DAILY_PREFIX,
    keys.NOTIFY_DUE_PREFIX,
    keys.SKIN_LOG_PREFIX,
    keys.SKIN_LOG_ID_PREFIX,
    keys.JOURNAL_PREFIX,
    keys.JOURNAL_REF_PREFIX,
    keys.PERIOD_PREFIX,
    keys.CYCLE_SLOT_SK,
    keys.CONSULTATION_PREFIX,
    # records table, owners about the user's email or tokens
    keys.PASSWORD_RESET_PREFIX,
    keys.LOGIN_PREFIX,
    keys.LOGIN_ACCOUNT_PREFIX,
    keys.LOGIN_ATTEMPTS_SK,
    keys.LOGIN_BUDGET_PREFIX,
    keys.ONETIME_PREFIX,
    keys.ONETIME_TOKEN_SK,
    # records table, system partitions
    keys.ACCOUNT_DELETIONS_PARTITION,
    "system#analysis-jobs",
    "system#upload-expiry",
    # chat table, the user's partition: session summaries; `session_key` (LSI) prefixes
    "session#",
    "S#",
    "M#",
    # storage (not a table, but the photos' key prefixes if the scans domain declares them)
    "users/",
    "uploads/",
}


def declared_key_parts() -> set[str]:
    """Every key prefix, partition and sort-key constant the code declares."""
    return {
        value
        for module in KEY_MODULES
        for name, value in vars(module).items()
        if name.isupper() and name.endswith(KEY_PART_SUFFIXES) and isinstance(value, str)
    }


def query(client: Any, table: str, partition: str, sk_prefix: str | None = None) -> list[dict[str, Any]]:
    """Every item of one partition (optionally under a sort-key prefix), strongly consistent."""
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "user_id = :p",
        "ExpressionAttributeValues": {":p": to_attr(partition)},
        "ConsistentRead": True,
    }
    if sk_prefix is not None:
        kwargs["KeyConditionExpression"] += " AND begins_with(sk, :s)"
        kwargs["ExpressionAttributeValues"][":s"] = to_attr(sk_prefix)
    items: list[dict[str, Any]] = []
    while True:
        page = client.query(**kwargs)
        items += [from_item(i) for i in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def files_of(root: Path, user_id: str) -> list[str]:
    return [
        p.relative_to(root).as_posix()
        for top in ("users", "uploads")
        for p in (root / top / user_id).rglob("*")
        if p.is_file()
    ]


def sort_keys(items: list[dict[str, Any]]) -> set[str]:
    return {str(i["sk"]) for i in items}


def starts(values: set[str], prefix: str) -> bool:
    return any(v.startswith(prefix) for v in values)


def test_every_declared_key_part_is_covered_by_this_test() -> None:
    # Also runs alone: a new prefix needs an erasure (and a check below) or a reason here.
    unchecked = declared_key_parts() - CHECKED_BY_ERASURE_TEST - set(NOT_USER_DATA)
    assert not unchecked, f"key parts no erasure check covers: {sorted(unchecked)}"


def test_a_deleted_account_leaves_nothing_in_any_table_or_prefix(
    client: TestClient, container: Any, settings: Settings, register: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = container.dynamodb
    tables = settings.table_names
    user = register(full_name="Erin Erased")
    user_id, email, headers = user["user"]["user_id"], user["email"], user["headers"]

    # A completed scan with photos, a plan with a check-in, a chat session.
    scan = wait_for(client, headers, upload_scan(client, headers, face_jpeg())["scan_id"])
    assert scan["status"] == "completed"
    plan = client.post("/api/v1/plans", headers=headers, json={})
    assert plan.status_code == 201, plan.text
    checkin = client.post(
        f"/api/v1/plans/{plan.json()['plan_id']}/checkins",
        headers=headers,
        json={"date": today(), "am_done": True, "pm_done": False},
    )
    assert checkin.status_code in (200, 201), checkin.text
    send(client, user, "Is my redness getting better?")
    # Preferences, a push device, the feed's read state (the scan made a notification, the plan
    # placed reminders and its unlock in the schedule index).
    prefs = client.patch("/api/v1/users/me/preferences", headers=headers, json={"units": "imperial"})
    assert prefs.status_code == 200, prefs.text
    device = {"platform": "ios", "token": "e" * 64}
    assert client.post("/api/v1/notifications/devices", headers=headers, json=device).status_code == 201
    assert client.post("/api/v1/notifications/read-all", headers=headers).status_code == 200
    skin_log = client.post("/api/v1/skin-logs", headers=headers, json={"date": today(), "breakouts": "few"})
    assert skin_log.status_code == 201, skin_log.text
    # A journal entry (and its id ref), a period log (and the cycle slot).
    entry = {"date": today(), "mood": "good", "text": "erase me"}
    assert client.post("/api/v1/journal", headers=headers, json=entry).status_code == 201
    period = {"start_date": today(), "flow": "light"}
    assert client.post("/api/v1/cycle/periods", headers=headers, json=period).status_code == 201
    # A consultation request with its report PDF (stored beside the photos).
    consultation = client.post(
        "/api/v1/consultations",
        headers=headers,
        json={"dermatologist_id": "amara-okafor-london", "reason": "Redness", "scan_ids": [scan["scan_id"]]},
    )
    assert consultation.status_code == 201, consultation.text
    report_url = consultation.json()["report"]["url"]
    # A scan awaiting its photos (upload-expiry marker) created under an idempotency key.
    waiting = client.post(SCANS, headers={**headers, "Idempotency-Key": "erase-me"}, json={})
    assert waiting.status_code == 201, waiting.text
    # Single-use tokens (and their refs), the verification and reset counters.
    assert client.post(f"{AUTH}/verify-email/request", headers=headers).status_code == 202
    assert client.post(f"{AUTH}/password-reset/request", json={"email": email}).status_code == 202
    # A failed sign-in: the account's attempt counter and hourly budget.
    assert (
        client.post(f"{AUTH}/login", json={"email": email, "password": "wrong password"}).status_code == 401
    )
    # A scan mid-analysis (its job marker), held there until the account is gone.
    analysing, release = threading.Event(), threading.Event()
    real_analyze = container.vision.analyze

    def held_analyze(images: dict[str, bytes], **kwargs: Any) -> Any:
        analysing.set()
        release.wait(30)
        return real_analyze(images, **kwargs)

    monkeypatch.setattr(container.vision, "analyze", held_analyze)
    upload_scan(client, headers, face_jpeg())
    assert analysing.wait(30), "the worker never picked the scan up"

    records = tables["records"]
    mine = sort_keys(query(db, records, user_id))
    refs = {s for s in mine if s.startswith(keys.ONETIME_REF_PREFIX)}
    token_owners = {keys.onetime_owner_from_ref(s) for s in refs}
    account_counters = keys.login_owner("account", email)
    reset_counter = keys.password_reset_owner(email)
    jobs = query(db, records, "system#analysis-jobs", sk_prefix=f"{user_id}#")
    expiring = [i for i in query(db, records, "system#upload-expiry") if i.get("owner_id") == user_id]
    # Everything the checks below look for exists before the deletion (or they prove nothing).
    for table in tables.values():
        assert query(db, table, user_id), f"{table}: the user has no data to erase"
    assert db.get_item(TableName=tables["users"], Key=keys.email_guard_key(email)).get("Item")
    assert starts(mine, keys.RATE_LIMIT_PREFIX)
    assert starts(mine, "idempotency#scan-create#")
    assert "plan#slot" in mine
    assert starts(mine, keys.SKIN_LOG_PREFIX)
    assert starts(mine, keys.SKIN_LOG_ID_PREFIX)
    for prefix in (keys.JOURNAL_PREFIX, keys.JOURNAL_REF_PREFIX, keys.PERIOD_PREFIX, keys.CYCLE_SLOT_SK):
        assert starts(mine, prefix), prefix
    assert starts(mine, keys.CONSULTATION_PREFIX)
    assert any("/consultations/" in f for f in files_of(container.storage.root, user_id))
    assert len(refs) == 2
    assert all(query(db, records, owner) for owner in token_owners)
    counters = sort_keys(query(db, records, account_counters))
    assert keys.LOGIN_ATTEMPTS_SK in counters
    assert starts(counters, keys.LOGIN_BUDGET_PREFIX)
    assert query(db, records, reset_counter)
    assert jobs
    assert expiring
    assert files_of(container.storage.root, user_id)
    for part in (keys.NOTIFICATION_PREFIX, keys.NOTIFICATION_DEVICE_PREFIX, keys.NOTIFICATION_GUARD_PREFIX):
        assert starts(mine, part), part
    assert {keys.PREFERENCES_SK, keys.NOTIFICATION_FEED_SK, keys.NOTIFICATION_SCHEDULE_SK} <= mine
    schedule = container.schedule_index.refs(user_id=user_id).entries
    assert set(schedule) == {"am", "pm", "rescan_due", "plan_unlocked"}
    assert all(
        starts(sort_keys(query(db, records, partition)), f"{user_id}#") for partition in schedule.values()
    )

    deleted = client.request("DELETE", f"{AUTH}/me", headers=headers, json={"password": PASSWORD})
    assert deleted.status_code == 204, deleted.text
    release.set()
    deadline = time.monotonic() + 30
    while container.analysis_worker._in_flight and time.monotonic() < deadline:
        time.sleep(0.05)  # the held analysis finishes and must write nothing back

    checked: set[str] = set()
    for name, table in tables.items():
        assert query(db, table, user_id) == [], f"{name}: the user's partition is not empty"
    # The user's partitions held the user item, scans, plans, chat sessions (session#) and the
    # records: counters, the idempotency guard, the plan slot, the token refs, journal
    # entries with their refs, period logs and the cycle slot.
    checked |= {
        keys.RATE_LIMIT_PREFIX,
        "idempotency#scan-create#",
        "plan#slot",
        keys.PREFERENCES_SK,
        keys.NOTIFICATION_PREFIX,
        keys.NOTIFICATION_FEED_SK,
        keys.NOTIFICATION_DEVICE_PREFIX,
        keys.NOTIFICATION_GUARD_PREFIX,
        keys.NOTIFICATION_SCHEDULE_SK,
        keys.SKIN_LOG_PREFIX,
        keys.SKIN_LOG_ID_PREFIX,
        keys.JOURNAL_PREFIX,
        keys.JOURNAL_REF_PREFIX,
        keys.PERIOD_PREFIX,
        keys.CYCLE_SLOT_SK,
        keys.CONSULTATION_PREFIX,
        keys.ONETIME_REF_PREFIX,
        "session#",
        "S#",
        "M#",
    }
    assert "Item" not in db.get_item(TableName=tables["users"], Key=keys.email_guard_key(email))
    checked.add(keys.EMAIL_GUARD_PREFIX)
    for owner in token_owners:
        assert query(db, records, owner) == [], "a single-use token outlived its account"
    checked |= {keys.ONETIME_PREFIX, keys.ONETIME_TOKEN_SK}
    assert query(db, records, account_counters) == [], "sign-in counters about the email remain"
    checked |= {
        keys.LOGIN_PREFIX,
        keys.LOGIN_ACCOUNT_PREFIX,
        keys.LOGIN_ATTEMPTS_SK,
        keys.LOGIN_BUDGET_PREFIX,
    }
    assert query(db, records, reset_counter) == [], "password-reset counters about the email remain"
    checked.add(keys.PASSWORD_RESET_PREFIX)
    assert query(db, records, keys.ACCOUNT_DELETIONS_PARTITION, sk_prefix=user_id) == []
    checked.add(keys.ACCOUNT_DELETIONS_PARTITION)
    assert query(db, records, "system#analysis-jobs", sk_prefix=f"{user_id}#") == []
    checked.add("system#analysis-jobs")
    assert [i for i in query(db, records, "system#upload-expiry") if i.get("owner_id") == user_id] == []
    checked.add("system#upload-expiry")
    for partition in schedule.values():
        assert not starts(sort_keys(query(db, records, partition)), f"{user_id}#"), (
            "a reminder outlived its account"
        )
    checked |= {keys.NOTIFY_DAILY_PREFIX, keys.NOTIFY_DUE_PREFIX}
    assert files_of(container.storage.root, user_id) == [], "photos or reports outlived their account"
    assert client.get(report_url).status_code == 404, "the shared report link outlived its account"
    checked |= {"users/", "uploads/"}

    assert checked == CHECKED_BY_ERASURE_TEST
    assert declared_key_parts() - checked <= set(NOT_USER_DATA)
