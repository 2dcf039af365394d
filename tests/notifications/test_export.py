"""Account export includes the feed, the devices (without their push tokens) and the preferences."""

from typing import Any

from fastapi.testclient import TestClient


def test_the_export_has_notifications_devices_and_preferences(
    client: TestClient, container: Any, user: dict
) -> None:
    headers, user_id = user["headers"], user["user"]["user_id"]
    client.patch(
        "/api/v1/users/me/preferences", headers=headers, json={"language": "fr", "cloud_ai_opt_out": True}
    )
    token = "f" * 64
    client.post("/api/v1/notifications/devices", headers=headers, json={"platform": "ios", "token": token})
    made = container.notifications.make(
        user_id=user_id, kind="rescan_due", title="Scan again", body="It is time."
    )

    export = client.get("/api/v1/auth/me/export", headers=headers)
    assert export.status_code == 200, export.text
    data = export.json()
    assert [n["notification_id"] for n in data["notifications"]] == [made.notification_id]
    assert data["notifications"][0]["title"] == "Scan again"
    assert [d["platform"] for d in data["devices"]] == ["ios"]
    assert token not in export.text
    assert data["preferences"]["language"] == "fr"
    assert data["preferences"]["cloud_ai_opt_out"] is True
