"""Honest progress over HTTP: a change no larger than photo noise says so (issue 10)."""

import io

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

from app.core.vocabulary import METRICS_WITH_OVERALL
from app.providers.vision.noise import band
from tests.helpers import upload_scan, wait_for
from tests.images import face_jpeg, face_rgb, redder_face_jpeg


def reencoded_face_jpeg() -> bytes:
    """The same face sent again: re-encoded at another JPEG quality (nothing about the skin changed)."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(face_rgb())).save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def test_rescan_of_the_same_face_is_flagged_within_noise(client: TestClient, user: dict) -> None:
    first = wait_for(client, user["headers"], upload_scan(client, user["headers"], face_jpeg())["scan_id"])
    second = wait_for(
        client, user["headers"], upload_scan(client, user["headers"], reencoded_face_jpeg())["scan_id"]
    )
    assert first["status"] == second["status"] == "completed"
    previous = second["deltas"]["previous"]
    assert set(previous["within_noise"]) == set(previous["changes"]) == set(METRICS_WITH_OVERALL)
    for metric, delta in previous["changes"].items():
        readings = first["scores"][metric], second["scores"][metric]
        assert previous["within_noise"][metric] == (abs(delta) <= band(metric, *readings))
    noisy = {m: d for m, d in previous["changes"].items() if not previous["within_noise"][m]}
    assert noisy == {}

    progress = client.get("/api/v1/progress", headers=user["headers"]).json()
    assert all(m["within_noise"] is True for m in progress["metrics"]), "no real change yet"


def test_flushed_cheeks_are_a_real_change_not_noise(client: TestClient, user: dict) -> None:
    wait_for(client, user["headers"], upload_scan(client, user["headers"], face_jpeg())["scan_id"])
    flushed = wait_for(
        client, user["headers"], upload_scan(client, user["headers"], redder_face_jpeg())["scan_id"]
    )
    previous = flushed["deltas"]["previous"]
    assert previous["changes"]["redness"] < 0
    assert previous["within_noise"]["redness"] is False
    progress = client.get("/api/v1/progress", headers=user["headers"], params={"metric": "redness"}).json()
    (redness,) = progress["metrics"]
    assert redness["within_noise"] is False
    assert redness["change_since_first"] < 0
