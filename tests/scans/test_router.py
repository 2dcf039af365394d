"""Scan lifecycle over HTTP with the local storage backend and the local analyzer."""

import io
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.helpers import SCANS, upload_scan, wait_for
from tests.images import (
    blurred_face_jpeg,
    darkened_face_jpeg,
    encode,
    face_heic,
    face_jpeg,
    face_jpeg_with_gps,
    face_rgb,
    no_face_jpeg,
    redder_face_jpeg,
)


@pytest.fixture
def completed_scan(client: TestClient, user: dict) -> dict[str, Any]:
    scan = upload_scan(client, user["headers"], face_jpeg())
    return wait_for(client, user["headers"], scan["scan_id"])


def test_presigned_local_flow_scores_the_face_and_strips_metadata(client: TestClient, user: dict) -> None:
    created = client.post(SCANS, headers=user["headers"], json={"angles": ["front"]})
    assert created.status_code == 201
    body = created.json()
    assert body["status"] == "awaiting_upload"
    (target,) = body["uploads"]
    assert target["angle"] == "front"
    assert target["method"] == "PUT"
    assert target["max_bytes"] == 10 * 1024 * 1024
    put = client.put(target["url"], content=face_jpeg_with_gps(), headers=target["headers"])
    assert put.status_code == 204
    submitted = client.post(f"{SCANS}/{body['scan_id']}/submit", headers=user["headers"])
    assert submitted.status_code == 202
    assert submitted.json()["status"] in {"queued", "processing", "completed"}
    scan = wait_for(client, user["headers"], body["scan_id"])
    assert scan["status"] == "completed", scan
    assert scan["passed_quality"] is True
    assert set(scan["scores"]) >= {
        "acne",
        "redness",
        "oiliness",
        "hydration",
        "pores",
        "wrinkles",
        "pigmentation",
        "dark_circles",
        "texture",
        "evenness",
        "overall",
    }
    assert all(0 <= v <= 100 for v in scan["scores"].values())
    stored = client.get(scan["image_urls"]["front"])
    assert stored.status_code == 200
    image = Image.open(io.BytesIO(stored.content))
    assert image.format == "JPEG"
    assert len(image.getexif()) == 0, "EXIF/GPS must be stripped before storage"
    overlay = client.get(scan["overlay_url"], headers=user["headers"])
    assert overlay.status_code == 200
    assert overlay.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(overlay.content)).size == image.size


def test_submit_before_upload_names_missing_angles(client: TestClient, user: dict) -> None:
    scan = client.post(SCANS, headers=user["headers"], json={"angles": ["front", "left"]}).json()
    client.put(scan["uploads"][0]["url"], content=face_jpeg(), headers={"Content-Type": "image/jpeg"})
    response = client.post(f"{SCANS}/{scan['scan_id']}/submit", headers=user["headers"])
    assert response.status_code == 409
    assert response.json()["error"]["details"]["missing_angles"] == ["left"]


def test_tampered_or_wrong_op_upload_url_is_403(client: TestClient, user: dict) -> None:
    scan = client.post(SCANS, headers=user["headers"], json={}).json()
    url = scan["uploads"][0]["url"]
    tampered = url[:-3] + ("abc" if not url.endswith("abc") else "xyz")
    assert (
        client.put(tampered, content=face_jpeg(), headers={"Content-Type": "image/jpeg"}).status_code == 403
    )
    assert client.get(url).status_code == 403  # an upload token is not a download token


def test_expired_upload_url_is_403(client: TestClient, container: Any, user: dict) -> None:
    storage = container.storage
    original = storage._upload_ttl
    from datetime import timedelta

    storage._upload_ttl = timedelta(seconds=-5)
    try:
        scan = client.post(SCANS, headers=user["headers"], json={}).json()
    finally:
        storage._upload_ttl = original
    response = client.put(
        scan["uploads"][0]["url"], content=face_jpeg(), headers={"Content-Type": "image/jpeg"}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_signed_url"


def test_upload_url_refuses_wrong_content_type(client: TestClient, user: dict) -> None:
    scan = client.post(SCANS, headers=user["headers"], json={}).json()
    response = client.put(scan["uploads"][0]["url"], content=b"hello", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


def test_idempotent_create_returns_the_same_scan(client: TestClient, user: dict) -> None:
    headers = {**user["headers"], "Idempotency-Key": "create-scan-42"}
    first = client.post(SCANS, headers=headers, json={"angles": ["front", "right"]})
    second = client.post(SCANS, headers=headers, json={"angles": ["front", "right"]})
    assert first.status_code == second.status_code == 201
    assert first.json()["scan_id"] == second.json()["scan_id"]
    listed = client.get(SCANS, headers=user["headers"]).json()["items"]
    assert [s["scan_id"] for s in listed] == [first.json()["scan_id"]]


def test_create_requires_front_angle_and_known_angles(client: TestClient, user: dict) -> None:
    assert client.post(SCANS, headers=user["headers"], json={"angles": ["left"]}).status_code == 422
    assert client.post(SCANS, headers=user["headers"], json={"angles": ["top"]}).status_code == 422


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (b"this is plain text, not a photo", 415, "unsupported_image_type"),
        (face_jpeg()[: len(face_jpeg()) // 2], 422, "corrupt_image"),
        (encode(face_rgb()[:100, :100]), 422, "image_too_small"),
        (b"\xff\xd8\xff" + b"\0" * (10 * 1024 * 1024 + 10), 413, "image_too_large"),
        (b"", 422, "empty_image"),
    ],
)
def test_bad_uploads_are_refused_with_a_reason(
    client: TestClient, user: dict, payload: bytes, status: int, code: str
) -> None:
    response = client.post(
        f"{SCANS}/upload", headers=user["headers"], files={"front": ("x.jpg", payload, "image/jpeg")}
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert client.get(SCANS, headers=user["headers"]).json()["items"] == []


def test_decompression_bomb_is_refused_before_decoding(client: TestClient, user: dict) -> None:
    buffer = io.BytesIO()
    Image.new("1", (9000, 9000)).save(buffer, format="PNG")  # 81 MP in a file of a few KB
    assert len(buffer.getvalue()) < 100_000
    response = client.post(
        f"{SCANS}/upload",
        headers=user["headers"],
        files={"front": ("bomb.png", buffer.getvalue(), "image/png")},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "image_dimensions_too_large"


def test_gif_is_refused_even_when_named_jpg(client: TestClient, user: dict) -> None:
    response = client.post(
        f"{SCANS}/upload",
        headers=user["headers"],
        files={"front": ("x.jpg", encode(face_rgb(), "GIF"), "image/jpeg")},
    )
    assert response.status_code == 415


def test_png_webp_and_heic_are_accepted(client: TestClient, user: dict) -> None:
    for photo in (encode(face_rgb(), "PNG"), encode(face_rgb(), "WEBP"), face_heic()):
        scan = upload_scan(client, user["headers"], photo)
        assert wait_for(client, user["headers"], scan["scan_id"])["status"] == "completed"


@pytest.mark.parametrize(
    ("photo", "problem"),
    [(no_face_jpeg, "no_face"), (darkened_face_jpeg, "too_dark"), (blurred_face_jpeg, "blurry")],
)
def test_photos_failing_the_quality_gate_fail_with_the_reason(
    client: TestClient, user: dict, photo: Callable[[], bytes], problem: str
) -> None:
    scan = wait_for(client, user["headers"], upload_scan(client, user["headers"], photo())["scan_id"])
    assert scan["status"] == "failed"
    assert scan["passed_quality"] is False
    assert scan["failure"]["code"] == "quality_check_failed"
    assert problem in [p["code"] for p in scan["failure"]["problems"]]
    assert scan["scores"] is None


def test_three_angle_upload_completes(client: TestClient, user: dict) -> None:
    mirrored = encode(face_rgb()[:, ::-1])
    scan = upload_scan(client, user["headers"], face_jpeg(), left=mirrored, right=face_jpeg())
    done = wait_for(client, user["headers"], scan["scan_id"])
    assert done["status"] == "completed"
    assert done["angles"] == ["front", "left", "right"]
    assert set(done["quality"]) == {"front", "left", "right"}


def test_deltas_against_previous_scan(client: TestClient, user: dict) -> None:
    first = wait_for(client, user["headers"], upload_scan(client, user["headers"], face_jpeg())["scan_id"])
    second = wait_for(
        client, user["headers"], upload_scan(client, user["headers"], redder_face_jpeg())["scan_id"]
    )
    assert first["deltas"]["previous"] is None
    previous = second["deltas"]["previous"]
    assert previous["scan_id"] == first["scan_id"]
    assert previous["changes"]["redness"] == pytest.approx(
        second["scores"]["redness"] - first["scores"]["redness"], abs=0.11
    )
    assert previous["changes"]["redness"] < 0, "a redder face must score worse on redness"


def test_list_is_newest_first_with_cursor_pagination(client: TestClient, user: dict) -> None:
    ids = [client.post(SCANS, headers=user["headers"], json={}).json()["scan_id"] for _ in range(5)]
    seen = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(SCANS, headers=user["headers"], params=params).json()
        seen.extend(s["scan_id"] for s in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))


def test_list_date_range_and_bad_cursor(client: TestClient, user: dict) -> None:
    client.post(SCANS, headers=user["headers"], json={})
    today = time.strftime("%Y-%m-%d", time.gmtime())
    in_range = client.get(SCANS, headers=user["headers"], params={"from": today, "to": today}).json()
    assert len(in_range["items"]) == 1
    past = client.get(
        SCANS, headers=user["headers"], params={"from": "2020-01-01", "to": "2020-12-31"}
    ).json()
    assert past["items"] == []
    bad = client.get(SCANS, headers=user["headers"], params={"cursor": "not-a-cursor!!"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_cursor"
    assert client.get(SCANS, headers=user["headers"], params={"from": "2021-02-30"}).status_code == 422
    assert client.get(SCANS, headers=user["headers"], params={"limit": 0}).status_code == 422


def test_another_users_scan_is_404_and_untouched(client: TestClient, register, completed_scan: dict) -> None:
    intruder = register()
    scan_id = completed_scan["scan_id"]
    for method, path in [
        ("GET", f"{SCANS}/{scan_id}"),
        ("GET", f"{SCANS}/{scan_id}/overlay"),
        ("POST", f"{SCANS}/{scan_id}/submit"),
        ("POST", f"{SCANS}/{scan_id}/retry"),
        ("DELETE", f"{SCANS}/{scan_id}"),
    ]:
        response = client.request(method, path, headers=intruder["headers"])
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "scan_not_found"


def test_delete_removes_scan_and_images(client: TestClient, user: dict, container: Any) -> None:
    scan = wait_for(client, user["headers"], upload_scan(client, user["headers"], face_jpeg())["scan_id"])
    image_url = scan["image_urls"]["front"]
    assert client.delete(f"{SCANS}/{scan['scan_id']}", headers=user["headers"]).status_code == 204
    assert client.get(f"{SCANS}/{scan['scan_id']}", headers=user["headers"]).status_code == 404
    assert client.get(image_url).status_code == 404
    folder = container.storage.root / f"users/{user['user']['user_id']}/scans/{scan['scan_id']}"
    assert not folder.exists()


def test_retry_only_for_failed_scans(client: TestClient, user: dict, completed_scan: dict) -> None:
    response = client.post(f"{SCANS}/{completed_scan['scan_id']}/retry", headers=user["headers"])
    assert response.status_code == 409
    failed = wait_for(
        client, user["headers"], upload_scan(client, user["headers"], no_face_jpeg())["scan_id"]
    )
    retried = client.post(f"{SCANS}/{failed['scan_id']}/retry", headers=user["headers"])
    assert retried.status_code == 202
    assert wait_for(client, user["headers"], failed["scan_id"])["failure"]["code"] == "quality_check_failed"


def test_malformed_scan_id_is_422(client: TestClient, user: dict) -> None:
    assert client.get(f"{SCANS}/not-a-ulid", headers=user["headers"]).status_code == 422


def test_progress_series_and_trend(client: TestClient, user: dict) -> None:
    for photo in (redder_face_jpeg(20), redder_face_jpeg(10), face_jpeg()):
        wait_for(client, user["headers"], upload_scan(client, user["headers"], photo)["scan_id"])
    wait_for(client, user["headers"], upload_scan(client, user["headers"], no_face_jpeg())["scan_id"])
    body = client.get("/api/v1/progress", headers=user["headers"], params={"metric": "redness"}).json()
    assert body["scan_count"] == 3, "the failed scan must not count"
    (redness,) = body["metrics"]
    values = [p["value"] for p in redness["points"]]
    assert values == sorted(values), "less red over time → rising redness score"
    assert redness["change_since_first"] == pytest.approx(values[-1] - values[0], abs=0.11)
    assert redness["slope_per_week"] is not None
    assert redness["slope_per_week"] > 0
    assert redness["trend"] == "improving"
    everything = client.get("/api/v1/progress", headers=user["headers"]).json()
    assert {m["metric"] for m in everything["metrics"]} >= {"redness", "overall"}
    assert (
        client.get("/api/v1/progress", headers=user["headers"], params={"metric": "glow"}).status_code == 422
    )


# ---- read models and the date-range rule (both answered by the service) ----


def test_a_completed_scan_answers_regions_per_angle_and_absolute_links(
    client: TestClient, user: dict
) -> None:
    scan = upload_scan(client, user["headers"], face_jpeg(), left=face_jpeg())
    done = wait_for(client, user["headers"], scan["scan_id"])
    assert done["status"] == "completed", done
    assert set(done["regions"]) == {"front", "left"}
    front_regions = done["regions"]["front"]
    assert front_regions
    assert all(0 <= score <= 100 for metrics in front_regions.values() for score in metrics.values())
    assert set(done["image_urls"]) == {"front", "left"}
    links = [*done["image_urls"].values(), done["overlay_url"]]
    assert all(link.startswith("http://testserver/api/v1/") for link in links)
    listed = client.get(SCANS, headers=user["headers"]).json()["items"]
    item = next(item for item in listed if item["scan_id"] == scan["scan_id"])
    # The same read model in the listing (download links are signed afresh each time).
    assert {**item, "image_urls": None} == {**done, "image_urls": None}


@pytest.mark.parametrize("path", [SCANS, "/api/v1/progress"])
def test_a_reversed_date_range_is_a_bad_request(client: TestClient, user: dict, path: str) -> None:
    response = client.get(path, headers=user["headers"], params={"from": "2026-02-01", "to": "2026-01-31"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_date_range"
    assert error["message"]
    same_day = client.get(path, headers=user["headers"], params={"from": "2026-02-01", "to": "2026-02-01"})
    assert same_day.status_code == 200
