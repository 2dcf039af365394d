"""Every DynamoDB key and key prefix of every table, in one place.

Repositories build their `Key=` dicts and key strings here and nowhere else, so a reader
(or the erasure test, which walks every `*_PREFIX`, `*_PARTITION` and `*_SK` constant of this
module) sees the whole key space at once.

Sections are per table and per domain; each domain keeps its own section. Key functions
return attribute-value dicts ready for `Key=`; `*_sk` functions build sort-key strings.
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


def dated_range(prefix: str, date_from: str | None, date_to: str | None) -> tuple[str, str]:
    """Inclusive sort-key bounds of `<prefix><YYYY-MM-DD>#<id>` items dated `date_from`..`date_to`.

    "#" < digits < "~": the bare prefix starts before any date, "<date>#~" ends after its ids.
    """
    low = f"{prefix}{date_from}#" if date_from else prefix
    high = f"{prefix}{date_to}#~" if date_to else f"{prefix}~"
    return low, high


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


# --- scans ---

SCAN_JOBS_PARTITION = "system#analysis-jobs"
"""Records table: one marker per queued or processing scan, SK `<user_id>#<scan_id>` (recovery)."""
UPLOAD_EXPIRY_PARTITION = "system#upload-expiry"
"""Records table: one marker per scan awaiting photos, SK `<created_at>#<user_id>#<scan_id>`."""
SCAN_IDEMPOTENCY_PREFIX = "idempotency#scan-create#"
"""Records table, in the user's partition: SK prefix of a scan-create idempotency guard."""
SCAN_DATE_INDEX = "scan-date-index"
"""Scans table LSI: the user's scans by `scan_date`."""

SCAN_FILES_ROOT = "users/"
"""Storage: `users/<user_id>/scans/<scan_id>/` holds a scan's checked photos and overlay."""
RAW_UPLOADS_ROOT = "uploads/"
"""Storage: `uploads/<user_id>/<scan_id>/<angle>` holds raw uploads (an S3 lifecycle rule expires them)."""


def scan_key(user_id: str, scan_id: str) -> dict[str, Any]:
    """Scans table: one scan."""
    return {"user_id": to_attr(user_id), "scan_id": to_attr(scan_id)}


def scan_job_sk(user_id: str, scan_id: str) -> str:
    """SK of a scan's job marker in the `SCAN_JOBS_PARTITION`."""
    return f"{user_id}#{scan_id}"


def scan_job_key(user_id: str, scan_id: str) -> dict[str, Any]:
    """Records table: a scan's analysis-job marker."""
    return {"user_id": to_attr(SCAN_JOBS_PARTITION), "sk": to_attr(scan_job_sk(user_id, scan_id))}


def upload_expiry_sk(created_at: str, user_id: str, scan_id: str) -> str:
    """SK of a scan's marker in the `UPLOAD_EXPIRY_PARTITION`."""
    # Creation time first: the sweep finds abandoned uploads with one `sk < cutoff` query.
    return f"{created_at}#{user_id}#{scan_id}"


def upload_expiry_created_at(sk: str) -> str:
    """The creation time an upload-expiry marker's SK starts with."""
    return sk.split("#", 1)[0]


def upload_expiry_key(created_at: str, user_id: str, scan_id: str) -> dict[str, Any]:
    """Records table: a scan's upload-expiry marker."""
    return {
        "user_id": to_attr(UPLOAD_EXPIRY_PARTITION),
        "sk": to_attr(upload_expiry_sk(created_at, user_id, scan_id)),
    }


def scan_idempotency_key(user_id: str, key: str) -> dict[str, Any]:
    """Records table: the guard of one `Idempotency-Key` of scan creation."""
    return {"user_id": to_attr(user_id), "sk": to_attr(SCAN_IDEMPOTENCY_PREFIX + key)}


def scan_files_prefix(user_id: str, scan_id: str) -> str:
    """Storage: a scan's checked photos and overlay."""
    return f"{SCAN_FILES_ROOT}{user_id}/scans/{scan_id}/"


def scan_image_key(user_id: str, scan_id: str, angle: str) -> str:
    """Storage: one checked (metadata-free) photo."""
    return f"{scan_files_prefix(user_id, scan_id)}{angle}.jpg"


def scan_overlay_key(user_id: str, scan_id: str) -> str:
    """Storage: the annotated front photo."""
    return f"{scan_files_prefix(user_id, scan_id)}overlay.jpg"


def raw_upload_prefix(user_id: str, scan_id: str) -> str:
    """Storage: a scan's raw uploads."""
    return f"{RAW_UPLOADS_ROOT}{user_id}/{scan_id}/"


def raw_upload_key(user_id: str, scan_id: str, angle: str) -> str:
    # Raw uploads (EXIF and GPS still inside) land apart from the checked images, under one
    # top-level prefix, so an S3 lifecycle rule on `uploads/` expires whatever is abandoned,
    # and a late re-upload can never replace a photo that was already validated.
    return f"{raw_upload_prefix(user_id, scan_id)}{angle}"


def user_file_prefixes(user_id: str) -> list[str]:
    """Storage: every prefix holding a user's files (account deletion)."""
    return [f"{SCAN_FILES_ROOT}{user_id}/", f"{RAW_UPLOADS_ROOT}{user_id}/"]


def scan_file_prefixes(user_id: str, scan_id: str) -> list[str]:
    """Storage: every prefix holding a scan's files (checked photos, overlay, raw uploads)."""
    return [scan_files_prefix(user_id, scan_id), raw_upload_prefix(user_id, scan_id)]


def parse_raw_upload_key(key: str) -> tuple[str, str] | None:
    """(user_id, scan_id) of a raw-upload key (also the layout before `uploads/`), else None."""
    parts = key.split("/")
    if len(parts) == 4 and parts[0] == RAW_UPLOADS_ROOT.rstrip("/"):
        return parts[1], parts[2]
    if len(parts) == 6 and parts[0] == "users" and parts[2] == "scans" and parts[4] == "uploads":
        return parts[1], parts[3]
    return None


def parse_scan_file_key(key: str) -> tuple[str, str, str] | None:
    """(root, user_id, scan_id) of a stored scan file under either root, else None (sweeps)."""
    parts = key.split("/")
    if key.startswith(SCAN_FILES_ROOT):
        if len(parts) < 5 or parts[2] != "scans":
            return None
        return SCAN_FILES_ROOT, parts[1], parts[3]
    if key.startswith(RAW_UPLOADS_ROOT) and len(parts) > 2:
        return RAW_UPLOADS_ROOT, parts[1], parts[2]
    return None


# --- plans ---

PLAN_SLOT_SK = "plan#slot"
"""Records table: the per-user item naming the current plan and its lock."""


def plan_key(user_id: str, plan_id: str) -> dict[str, Any]:
    """Plans table: one plan."""
    return {"user_id": to_attr(user_id), "plan_id": to_attr(plan_id)}


def plan_slot_key(user_id: str) -> dict[str, Any]:
    """Records table: the user's plan slot."""
    return {"user_id": to_attr(user_id), "sk": to_attr(PLAN_SLOT_SK)}


def checkin_path_names(checkin_date: str) -> dict[str, str]:
    """Placeholder names for a check-in's place in the plan's `checkins` map (keyed by ISO date)."""
    return {"#date": checkin_date}


CHECKIN_PATH = "checkins.#date"
"""A check-in's attribute path inside a plan item (with `checkin_path_names`)."""

# --- chat ---

CHAT_SUMMARY_PREFIX = "session#"
"""Chat table: `message_id` of a session's summary item is this prefix + the session id."""
CHAT_SESSION_KEY_PREFIX = "S#"
"""`session_key` of summaries: `S#<last_message_id>#<session_id>` sorts sessions by activity."""
CHAT_MESSAGE_KEY_PREFIX = "M#"
"""`session_key` of messages: `M#<session_id>#<message_id>` sorts a session's messages."""


def chat_message_key(user_id: str, message_id: str) -> dict[str, Any]:
    """Chat table: one item (a message or, with a summary id, a session summary)."""
    return {"user_id": to_attr(user_id), "message_id": to_attr(message_id)}


def chat_summary_id(session_id: str) -> str:
    """The `message_id` of a session's summary item."""
    return CHAT_SUMMARY_PREFIX + session_id


def chat_summary_key(user_id: str, session_id: str) -> dict[str, Any]:
    """Chat table: a session's summary item."""
    return chat_message_key(user_id, chat_summary_id(session_id))


def chat_summary_session_key(last_message_id: str, session_id: str) -> str:
    """Session-index sort key of a summary: latest activity first when queried backwards."""
    return f"{CHAT_SESSION_KEY_PREFIX}{last_message_id}#{session_id}"


def chat_messages_prefix(session_id: str) -> str:
    """Session-index sort-key prefix of one session's messages."""
    return f"{CHAT_MESSAGE_KEY_PREFIX}{session_id}#"


def chat_message_session_key(session_id: str, message_id: str) -> str:
    """Session-index sort key of a message: a session's messages in order."""
    return chat_messages_prefix(session_id) + message_id


# --- preferences ---
# Records table, the user's partition: one preferences document.
PREFERENCES_SK = "preferences"


def preferences_key(user_id: str) -> dict[str, Any]:
    """Records table: the user's preferences."""
    return record_key(user_id, PREFERENCES_SK)


# --- notifications ---
# Records table, the user's partition: the feed (`notif#<notification_id>`, ULIDs so key
# order is newest-first), the feed's read watermark, devices, the once-only guards (one per
# user, kind and day or object) and the list of schedule entries the user has in the index.
# The schedule index sits in system partitions, one per UTC minute: daily reminders under
# `system#notify-daily#<HH:MM>`, one-off due times under `system#notify-due#<YYYY-MM-DDTHH:MM>`.
NOTIFICATION_PREFIX = "notif#"
NOTIFICATION_FEED_SK = "notif-feed"
NOTIFICATION_DEVICE_PREFIX = "notif-device#"
NOTIFICATION_GUARD_PREFIX = "notif-once#"
NOTIFICATION_SCHEDULE_SK = "notif-schedule"
NOTIFY_DAILY_PREFIX = "system#notify-daily#"
NOTIFY_DUE_PREFIX = "system#notify-due#"
NOTIFY_SCHEDULER_PARTITION = "system#notify-scheduler"
NOTIFY_CURSOR_SK = "cursor"


def notification_sk(notification_id: str) -> str:
    """SK of one feed item."""
    return NOTIFICATION_PREFIX + notification_id


def notification_key(user_id: str, notification_id: str) -> dict[str, Any]:
    """Records table: one feed item."""
    return record_key(user_id, notification_sk(notification_id))


def notification_feed_key(user_id: str) -> dict[str, Any]:
    """Records table: the feed's state (the read-all watermark)."""
    return record_key(user_id, NOTIFICATION_FEED_SK)


def notification_device_sk(device_id: str) -> str:
    """SK of one registered push device."""
    return NOTIFICATION_DEVICE_PREFIX + device_id


def notification_device_id(token: str) -> str:
    """A device's id: derived from its token, so registering a token again finds the same device."""
    return _digest(token, 26)


def notification_guard_sk(dedupe_key: str) -> str:
    """SK of the guard that makes one notification (kind + day, or kind + object) exactly once."""
    return NOTIFICATION_GUARD_PREFIX + dedupe_key


def notification_schedule_key(user_id: str) -> dict[str, Any]:
    """Records table: which schedule-index entries belong to the user (erasure, re-indexing)."""
    return record_key(user_id, NOTIFICATION_SCHEDULE_SK)


def notify_daily_partition(utc_minute: str) -> str:
    """The schedule-index partition of one UTC minute of the day (`HH:MM`)."""
    return NOTIFY_DAILY_PREFIX + utc_minute


def notify_due_partition(utc_minute: str) -> str:
    """The schedule-index partition of one UTC minute (`YYYY-MM-DDTHH:MM`)."""
    return NOTIFY_DUE_PREFIX + utc_minute


def notify_entry_sk(user_id: str, name: str) -> str:
    """SK of a user's entry in a schedule-index partition (`name`: am, pm, rescan_due, ...)."""
    return f"{user_id}#{name}"


def notify_cursor_key() -> dict[str, Any]:
    """Records table: the last UTC minute the schedulers finished."""
    return record_key(NOTIFY_SCHEDULER_PARTITION, NOTIFY_CURSOR_SK)


# --- skin_logs ---
# Records table, in the user's partition. A log sits under `skinlog#<date>#<log_id>`, so a
# date range is one `BETWEEN` query in date order; a pointer `skinlog-id#<log_id>` holding
# the date lets a log be read by its id with two GetItems (no scan, no filter).
SKIN_LOG_PREFIX = "skinlog#"
SKIN_LOG_ID_PREFIX = "skinlog-id#"


def skin_log_sk(log_date: str, log_id: str) -> str:
    """Sort key of a skin log (`log_date` is YYYY-MM-DD)."""
    return f"{SKIN_LOG_PREFIX}{log_date}#{log_id}"


def skin_log_range(date_from: str | None, date_to: str | None) -> tuple[str, str]:
    """Inclusive sort-key bounds of the logs dated `date_from`..`date_to` (either may be open)."""
    return dated_range(SKIN_LOG_PREFIX, date_from, date_to)


def skin_log_key(user_id: str, log_date: str, log_id: str) -> dict[str, Any]:
    """Records table: one skin log."""
    return record_key(user_id, skin_log_sk(log_date, log_id))


def skin_log_pointer_key(user_id: str, log_id: str) -> dict[str, Any]:
    """Records table: the pointer from a log's id to its date."""
    return record_key(user_id, SKIN_LOG_ID_PREFIX + log_id)


# --- journal and cycles (issue 12) ---
# Records table, the user's partition; date order is key order, so ranges and "newest first"
# are key queries. A journal entry sits under `journal#<date>#<entry_id>` with a ref
# `journal-id#<entry_id>` naming its sort key (a get by id is two GetItems; an edit of the
# date moves the entry and rewrites the ref in one transaction). A period log sits under
# `period#<start_date>#<period_id>`; `cycle#slot` carries a version every period write bumps
# in its transaction, so two concurrent logs can never overlap.

JOURNAL_PREFIX = "journal#"
JOURNAL_REF_PREFIX = "journal-id#"
PERIOD_PREFIX = "period#"
CYCLE_SLOT_SK = "cycle#slot"


def journal_sk(entry_date: str, entry_id: str) -> str:
    """SK of a journal entry: `journal#<YYYY-MM-DD>#<entry_id>`."""
    return f"{JOURNAL_PREFIX}{entry_date}#{entry_id}"


def journal_ref_sk(entry_id: str) -> str:
    """SK of the ref naming an entry's sort key."""
    return JOURNAL_REF_PREFIX + entry_id


def period_sk(start_date: str, period_id: str) -> str:
    """SK of a period log: `period#<YYYY-MM-DD>#<period_id>`."""
    return f"{PERIOD_PREFIX}{start_date}#{period_id}"


# --- consultations ---
# Records table, in the user's partition: one item per consultation request, SK
# `consultation#<consultation_id>` (ULIDs, so a backwards query is newest first).
# Storage: `users/<user_id>/consultations/<consultation_id>/report.pdf`, under the user's
# files root, so the account's file erasure covers it too.

CONSULTATION_PREFIX = "consultation#"


def consultation_sk(consultation_id: str) -> str:
    """Records table: the sort key of one consultation."""
    return CONSULTATION_PREFIX + consultation_id


def consultation_key(user_id: str, consultation_id: str) -> dict[str, Any]:
    """Records table: one consultation."""
    return record_key(user_id, consultation_sk(consultation_id))


def consultation_files_prefix(user_id: str) -> str:
    """Storage: every consultation report of a user."""
    return f"{SCAN_FILES_ROOT}{user_id}/consultations/"


def consultation_report_key(user_id: str, consultation_id: str) -> str:
    """Storage: one consultation's report PDF."""
    return f"{consultation_files_prefix(user_id)}{consultation_id}/report.pdf"


# ---- speed (issue 15): the users table's email index, read by sign-in ----

EMAIL_INDEX = "email-index"
# --- ops (scale-out: leases) ---
# Records table: a lease item per periodic job and interval, so that a job every instance
# schedules (the storage sweep; a reminder scheduler) runs in one instance per interval.
# Holds no user data; TTL removes old windows.

LEASES_PARTITION = "system#leases"


def lease_sk(name: str, window: int) -> str:
    """SK of a job's lease for one interval (`window` = epoch seconds // interval)."""
    return f"{name}#{window:012d}"


def lease_key(name: str, window: int) -> dict[str, Any]:
    """Records table: one job's lease for one interval."""
    return {"user_id": to_attr(LEASES_PARTITION), "sk": to_attr(lease_sk(name, window))}
