"""The whole scan flow with STORAGE_BACKEND=s3 against moto's S3 server: real presigned HTTP."""

import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.conftest import PASSWORD, unique_email
from tests.helpers import wait_for
from tests.images import face_jpeg_with_gps
from tests.moto_server import app_on_moto_s3

BUCKET = "dermalens-api-test"


@pytest.fixture(scope="module")
def s3_client_app(dynamodb_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with app_on_moto_s3(dynamodb_endpoint, tmp_path_factory.mktemp("s3app"), BUCKET) as client:
        yield client


def _headers(client: TestClient) -> dict[str, str]:
    body = client.post("/api/v1/auth/register", json={"email": unique_email(), "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {body['tokens']['access_token']}"}


def test_presigned_post_flow_through_the_api(s3_client_app: TestClient) -> None:
    client = s3_client_app
    headers = _headers(client)
    assert client.get("/health/ready").json()["checks"]["storage"] == {"ok": True, "backend": "s3"}
    created = client.post("/api/v1/scans", headers=headers, json={"angles": ["front"]}).json()
    (target,) = created["uploads"]
    # Raw uploads live under one top-level prefix, which the bucket's lifecycle rule expires.
    assert target["method"] == "POST"
    assert target["fields"]["key"].startswith("uploads/")
    uploaded = httpx.post(
        target["url"],
        data={**target["fields"], "Content-Type": "image/jpeg"},
        files={"file": ("face.jpg", face_jpeg_with_gps(), "image/jpeg")},
    )
    assert uploaded.status_code in (200, 201, 204), uploaded.text
    assert client.post(f"/api/v1/scans/{created['scan_id']}/submit", headers=headers).status_code == 202
    scan: dict[str, Any] = wait_for(client, headers, created["scan_id"])
    assert scan["status"] == "completed", scan
    image = httpx.get(scan["image_urls"]["front"])
    assert image.status_code == 200
    stored = Image.open(io.BytesIO(image.content))
    assert stored.format == "JPEG"
    assert len(stored.getexif()) == 0
    assert client.get(scan["overlay_url"], headers=headers).status_code == 200
    # The raw upload is gone once the checked copy exists.
    storage = client.app.state.container.storage  # type: ignore[attr-defined]
    assert storage.get(key=target["fields"]["key"]) is None
    user_id, scan_id = target["fields"]["key"].split("/")[1:3]
    assert storage.get(key=f"users/{user_id}/scans/{scan_id}/front.jpg") == image.content


def test_deleting_a_scan_removes_its_s3_objects(s3_client_app: TestClient) -> None:
    client = s3_client_app
    headers = _headers(client)
    files = {"front": ("face.jpg", face_jpeg_with_gps(), "image/jpeg")}
    scan = wait_for(
        client, headers, client.post("/api/v1/scans/upload", headers=headers, files=files).json()["scan_id"]
    )
    url = scan["image_urls"]["front"]
    assert httpx.get(url).status_code == 200
    assert client.delete(f"/api/v1/scans/{scan['scan_id']}", headers=headers).status_code == 204
    assert httpx.get(url).status_code == 404
