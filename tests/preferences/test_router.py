"""/users/me/preferences over HTTP against DynamoDB Local: defaults, PUT, PATCH, 422 changes nothing."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

PREFS = "/api/v1/users/me/preferences"


def test_a_new_user_gets_the_defaults_in_their_profile_timezone(client: TestClient, register: Any) -> None:
    user = register()
    assert (
        client.patch(
            "/api/v1/auth/me", headers=user["headers"], json={"timezone": "Europe/Paris"}
        ).status_code
        == 200
    )
    body = client.get(PREFS, headers=user["headers"]).json()
    assert body["am_reminder_time"] == "08:00"
    assert body["pm_reminder_time"] == "21:00"
    assert body["timezone"] is None
    assert body["effective_timezone"] == "Europe/Paris"
    assert body["rescan_interval_days"] == 28
    assert body["notifications"]["push"] is True
    assert body["cloud_ai_opt_out"] is False
    assert body["updated_at"] is None


def test_put_replaces_everything_and_patch_changes_one_field(client: TestClient, user: dict) -> None:
    full = {
        "am_reminder_time": "07:15",
        "pm_reminder_time": "22:30",
        "timezone": "America/New_York",
        "rescan_interval_days": 14,
        "units": "imperial",
        "language": "pt-BR",
        "notifications": {"push": False, "rescan_reminders": False},
        "cloud_ai_opt_out": True,
    }
    put = client.put(PREFS, headers=user["headers"], json=full)
    assert put.status_code == 200, put.text
    assert put.json()["effective_timezone"] == "America/New_York"
    assert put.json()["notifications"] == {
        "in_app": True,
        "push": False,
        "routine_reminders": True,
        "rescan_reminders": False,
        "scan_updates": True,
        "plan_updates": True,
    }
    patched = client.patch(PREFS, headers=user["headers"], json={"pm_reminder_time": "20:45"})
    assert patched.status_code == 200, patched.text
    again = client.get(PREFS, headers=user["headers"]).json()
    assert again["pm_reminder_time"] == "20:45"
    assert again["am_reminder_time"] == "07:15"  # the rest is kept
    assert again["language"] == "pt-BR"
    assert again["notifications"]["push"] is False
    # A nested switch merges; timezone null goes back to the profile's.
    client.patch(PREFS, headers=user["headers"], json={"notifications": {"push": True}, "timezone": None})
    last = client.get(PREFS, headers=user["headers"]).json()
    assert last["notifications"]["push"] is True
    assert last["notifications"]["rescan_reminders"] is False
    assert last["timezone"] is None
    assert last["effective_timezone"] == "UTC"
    # PUT with a field left out puts it back to its default.
    client.put(PREFS, headers=user["headers"], json={"units": "imperial"})
    assert client.get(PREFS, headers=user["headers"]).json()["language"] == "en"


@pytest.mark.parametrize(
    "body",
    [
        {"am_reminder_time": "25:00"},
        {"am_reminder_time": "8:00"},
        {"pm_reminder_time": "21:60"},
        {"timezone": "Mars/Olympus_Mons"},
        {"timezone": "utc+2"},
        {"rescan_interval_days": 3},
        {"rescan_interval_days": 1000},
        {"units": "furlongs"},
        {"language": "english"},
        {"notifications": {"push": "sometimes"}},
        {"notifications": {"sms": True}},
        {"units": None},
        {"notifications": {"push": None}},
        {"colour": "blue"},
    ],
)
def test_bad_values_answer_422_and_change_nothing(client: TestClient, user: dict, body: dict) -> None:
    client.patch(PREFS, headers=user["headers"], json={"am_reminder_time": "06:45"})
    before = client.get(PREFS, headers=user["headers"]).json()
    for method in ("PATCH", "PUT"):
        response = client.request(method, PREFS, headers=user["headers"], json=body)
        assert response.status_code == 422, (method, body, response.text)
        assert response.json()["error"]["code"] == "validation_error"
    assert client.get(PREFS, headers=user["headers"]).json() == before


def test_preferences_are_per_user(client: TestClient, register: Any) -> None:
    one, two = register(), register()
    client.patch(PREFS, headers=one["headers"], json={"units": "imperial"})
    assert client.get(PREFS, headers=two["headers"]).json()["units"] == "metric"
