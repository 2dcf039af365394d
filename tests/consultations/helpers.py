"""Shared by the consultation tests: patients with real, analysed scans, and a request."""

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, unique_email
from tests.helpers import upload_scan, wait_for
from tests.images import face_jpeg, redder_face_jpeg

CONSULTATIONS = "/api/v1/consultations"
DOCTOR = "amara-okafor-london"


def make_patient(client: TestClient, *, scans: int = 1, **profile: Any) -> dict[str, Any]:
    """A signed-up user with `scans` completed scans (real photos, real analysis)."""
    email = unique_email()
    response = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD, **profile})
    assert response.status_code == 201, response.text
    body = response.json()
    user = {"email": email, "headers": {"Authorization": f"Bearer {body['tokens']['access_token']}"}, **body}
    photos = [face_jpeg(), redder_face_jpeg(60.0)]
    user["scans"] = []
    for index in range(scans):
        scan = wait_for(
            client, user["headers"], upload_scan(client, user["headers"], photos[index % 2])["scan_id"]
        )
        assert scan["status"] == "completed", scan
        user["scans"].append(scan)
    return user


def request_consultation(
    client: TestClient,
    user: dict[str, Any],
    *,
    scan_ids: list[str] | None = None,
    reason: str = "Spreading redness",
) -> dict[str, Any]:
    """POST /consultations (201) for the user's first scan or the given ones."""
    body = {
        "dermatologist_id": DOCTOR,
        "reason": reason,
        "scan_ids": scan_ids or [user["scans"][0]["scan_id"]],
    }
    response = client.post(CONSULTATIONS, headers=user["headers"], json=body)
    assert response.status_code == 201, response.text
    return response.json()
