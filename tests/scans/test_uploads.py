"""Uploads and scans: quotas charged before decoding, bounded decodes, idempotent creates,
user retries, empty angle lists and abandoned raw uploads."""

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.bootstrap import build_container
from app.core.errors import DependencyUnavailableError
from app.core.security import new_id, utc_now
from app.main import create_app
from app.providers.vision import build_vision_provider
from app.scans.intake import DecodeGate, ImageLimits, clean_image
from tests.conftest import PASSWORD, make_settings, unique_email
from tests.helpers import SCANS, upload_scan, wait_for
from tests.images import face_jpeg, face_jpeg_with_gps, face_rgb
from tests.processes import isolated_tables

ROOT = Path(__file__).resolve().parents[2]


def _sign_up(client: TestClient) -> dict[str, str]:
    body = client.post("/api/v1/auth/register", json={"email": unique_email(), "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {body['tokens']['access_token']}"}


def _corrupt_jpeg() -> bytes:
    data = face_jpeg()
    return data[: len(data) // 2]


@pytest.fixture(scope="module")
def small_quota_app(dynamodb_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(
        dynamodb_endpoint,
        tmp_path_factory.mktemp("quota"),
        scans_per_day=3,
        photo_checks_per_day=2,
        **isolated_tables(f"quota-{new_id().lower()}"),
    )
    with TestClient(create_app(settings)) as app_client:
        yield app_client


# ---- the quota is charged before any photo is decoded ----


def test_bad_photos_use_up_the_daily_quota(small_quota_app: TestClient) -> None:
    headers = _sign_up(small_quota_app)
    files = {"left": ("l.jpg", face_jpeg(), "image/jpeg"), "front": ("f.jpg", _corrupt_jpeg(), "image/jpeg")}
    codes = [
        small_quota_app.post(f"{SCANS}/upload", headers=headers, files=files).status_code for _ in range(4)
    ]
    assert codes == [422, 422, 422, 429]


def test_resubmitting_a_bad_photo_is_bounded(small_quota_app: TestClient) -> None:
    headers = _sign_up(small_quota_app)
    created = small_quota_app.post(SCANS, headers=headers, json={}).json()
    small_quota_app.put(
        created["uploads"][0]["url"], content=_corrupt_jpeg(), headers={"Content-Type": "image/jpeg"}
    )
    submit = f"{SCANS}/{created['scan_id']}/submit"
    codes = [small_quota_app.post(submit, headers=headers).status_code for _ in range(3)]
    assert codes == [422, 422, 429]


# ---- Idempotency-Key ----


def test_retries_with_one_idempotency_key_are_not_charged(small_quota_app: TestClient) -> None:
    headers = _sign_up(small_quota_app)
    keyed = {**headers, "Idempotency-Key": "morning-scan"}
    answers = [small_quota_app.post(SCANS, headers=keyed, json={}) for _ in range(6)]
    assert [a.status_code for a in answers] == [201] * 6
    assert len({a.json()["scan_id"] for a in answers}) == 1
    assert all(a.json()["uploads"] for a in answers), "the repeat hands out the upload targets again"
    # One scan was charged, so two more fit into the day's three.
    assert [small_quota_app.post(SCANS, headers=headers, json={}).status_code for _ in range(3)] == [
        201,
        201,
        429,
    ]


def test_idempotency_key_of_a_deleted_scan_starts_a_new_one(client: TestClient, user: dict) -> None:
    keyed = {**user["headers"], "Idempotency-Key": "evening-scan"}
    first = client.post(SCANS, headers=keyed, json={}).json()
    assert client.delete(f"{SCANS}/{first['scan_id']}", headers=user["headers"]).status_code == 204
    again = client.post(SCANS, headers=keyed, json={})
    assert again.status_code == 201
    assert again.json()["scan_id"] != first["scan_id"]
    assert client.get(f"{SCANS}/{again.json()['scan_id']}", headers=user["headers"]).status_code == 200
    repeat = client.post(SCANS, headers=keyed, json={})
    assert repeat.json()["scan_id"] == again.json()["scan_id"]


def test_idempotency_key_reused_for_other_angles_is_409(client: TestClient, user: dict) -> None:
    keyed = {**user["headers"], "Idempotency-Key": "two-angles"}
    assert client.post(SCANS, headers=keyed, json={"angles": ["front"]}).status_code == 201
    other = client.post(SCANS, headers=keyed, json={"angles": ["front", "left"]})
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"


# ---- empty angle list ----


def test_empty_angle_list_is_422(client: TestClient, user: dict) -> None:
    response = client.post(SCANS, headers=user["headers"], json={"angles": []})
    assert response.status_code == 422
    assert response.json()["error"]["code"]
    assert client.get(SCANS, headers=user["headers"]).json()["items"] == []


# ---- a user's retry after a passing outage ----


class FlakyVision:
    """The offline analyser behind a provider outage that lasts `failures` calls."""

    def __init__(self, real: Any, failures: int) -> None:
        self._real = real
        self.failures = failures
        self._lock = threading.Lock()

    def analyze(self, images: dict[str, bytes]) -> Any:
        with self._lock:
            if self.failures > 0:
                self.failures -= 1
                raise ConnectionError("provider unavailable")
        return self._real.analyze(images)

    def render_overlay(self, image: bytes, analysis: Any) -> bytes:
        return self._real.render_overlay(image, analysis)


def test_retry_after_an_outage_gets_a_fresh_attempt_budget(dynamodb_endpoint: str, tmp_path: Path) -> None:
    # Own tables: the session app's sweep would analyse this scan from its own storage.
    settings = make_settings(
        dynamodb_endpoint, tmp_path, scans_per_day=4, **isolated_tables(f"retry-{new_id().lower()}")
    )
    vision = FlakyVision(build_vision_provider(settings), failures=3)
    with TestClient(create_app(settings, container=build_container(settings, vision=vision))) as app_client:
        headers = _sign_up(app_client)
        scan = wait_for(app_client, headers, upload_scan(app_client, headers, face_jpeg())["scan_id"])
        assert scan["failure"]["code"] == "internal_error"
        for _ in range(2):
            assert app_client.post(f"{SCANS}/{scan['scan_id']}/retry", headers=headers).status_code == 202
            assert wait_for(app_client, headers, scan["scan_id"])["failure"]["code"] == "internal_error"
        # The provider is back: the fourth analysis of this scan must run, not fail at once.
        assert app_client.post(f"{SCANS}/{scan['scan_id']}/retry", headers=headers).status_code == 202
        done = wait_for(app_client, headers, scan["scan_id"])
        assert done["status"] == "completed", done["failure"]
        # Retries are analyses too: the day's four are used up.
        over = app_client.post(
            f"{SCANS}/upload", headers=headers, files={"front": ("f.jpg", face_jpeg(), "image/jpeg")}
        )
        assert over.status_code == 429


# ---- abandoned raw uploads expire ----


def test_abandoned_upload_expires_and_its_raw_photo_is_deleted(
    client: TestClient, container: Any, user: dict
) -> None:
    created = client.post(SCANS, headers=user["headers"], json={}).json()
    url = created["uploads"][0]["url"]
    assert (
        client.put(url, content=face_jpeg_with_gps(), headers={"Content-Type": "image/jpeg"}).status_code
        == 204
    )
    raw = container.storage.root / "uploads" / user["user"]["user_id"] / created["scan_id"]
    assert any(raw.iterdir()), "the raw upload is stored until the scan is submitted"
    assert container.scans.expire_abandoned_uploads(now=utc_now() + timedelta(hours=2)) >= 1
    assert not raw.exists(), "the raw photo with its GPS position is deleted"
    scan = client.get(f"{SCANS}/{created['scan_id']}", headers=user["headers"]).json()
    assert scan["status"] == "expired"
    assert scan["failure"]["code"] == "upload_expired"
    submit = client.post(f"{SCANS}/{created['scan_id']}/submit", headers=user["headers"])
    assert submit.status_code == 409
    assert submit.json()["error"]["code"] == "scan_expired"
    late = client.put(url, content=face_jpeg(), headers={"Content-Type": "image/jpeg"})
    assert late.status_code == 409
    assert not raw.exists()


def test_recent_and_submitted_scans_do_not_expire(client: TestClient, container: Any, user: dict) -> None:
    fresh = client.post(SCANS, headers=user["headers"], json={}).json()
    submitted = upload_scan(client, user["headers"], face_jpeg())
    container.scans.expire_abandoned_uploads()
    assert (
        client.get(f"{SCANS}/{fresh['scan_id']}", headers=user["headers"]).json()["status"]
        == "awaiting_upload"
    )
    assert wait_for(client, user["headers"], submitted["scan_id"])["status"] == "completed"


# ---- decoding: bounded memory and concurrency ----

_MEASURE = textwrap.dedent(
    """
    import resource, sys
    from app.scans.intake import ImageLimits, clean_image
    data = open(sys.argv[1], "rb").read()
    limits = ImageLimits(max_bytes=20 * 1024 * 1024, max_pixels=50_000_000, min_side=256)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    clean = clean_image(data, limits=limits)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) // 1024, clean.width, clean.height)
    """
)


def _peak_mb(path: Path) -> tuple[int, int, int]:
    """Peak memory growth (MB) of cleaning one photo, in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[0]), int(out[1]), int(out[2])


def test_a_small_png_of_huge_dimensions_is_decoded_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    Image.new("RGB", (6000, 6000), (200, 150, 120)).save(path, format="PNG")
    assert path.stat().st_size < 200_000
    peak, width, height = _peak_mb(path)
    assert (width, height) == (3000, 3000)
    assert peak < 200, f"cleaning a {path.stat().st_size // 1024} KB PNG took {peak} MB"


def test_a_48_megapixel_phone_jpeg_is_accepted_and_decoded_at_half_size(tmp_path: Path) -> None:
    path = tmp_path / "phone.jpg"
    Image.fromarray(face_rgb()).resize((8064, 6048)).save(path, format="JPEG", quality=90)
    peak, width, height = _peak_mb(path)
    assert (width, height) == (4032, 3024)
    assert peak < 120, f"a 48 MP JPEG took {peak} MB"


def test_decodes_beyond_the_limit_wait_then_get_503() -> None:
    gate = DecodeGate(1, timeout=0.2)
    limits = ImageLimits(max_bytes=10 * 1024 * 1024, max_pixels=50_000_000, min_side=256, gate=gate)
    with gate, pytest.raises(DependencyUnavailableError) as busy:  # another request is decoding
        clean_image(face_jpeg(), limits=limits)
    assert busy.value.code == "server_busy"
    assert clean_image(face_jpeg(), limits=limits).width == 1024
