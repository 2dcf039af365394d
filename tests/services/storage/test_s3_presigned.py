"""The S3 backend against moto's server mode: the real presigned POST/GET HTTP flow."""

import base64
import contextlib
import json
from collections.abc import Iterator

import httpx
import pytest
from moto.server import ThreadedMotoServer

from app.core.config import Settings
from app.core.errors import DependencyUnavailableError
from app.db.local_dynamodb import free_port
from app.services.storage.s3 import S3ImageStorage, build_s3_client
from tests.conftest import make_settings
from tests.images import face_jpeg

BUCKET = "dermalens-test-images"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def s3_settings(endpoint: str, tmp_path, monkeypatch: pytest.MonkeyPatch, **overrides) -> Settings:
    # moto accepts any credentials; real deployments use the instance role instead.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return make_settings(
        "http://127.0.0.1:1",
        tmp_path,
        storage_backend="s3",
        s3_bucket_name=BUCKET,
        s3_endpoint_url=endpoint,
        **overrides,
    )


@pytest.fixture
def storage(s3_endpoint: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> S3ImageStorage:
    client = build_s3_client(s3_settings(s3_endpoint, tmp_path, monkeypatch))
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=BUCKET)
    return S3ImageStorage(client=client, bucket=BUCKET, upload_ttl=300, download_ttl=60)


def _post(target, data: bytes, content_type: str = "image/jpeg") -> httpx.Response:
    fields = {**(target.fields or {}), "Content-Type": content_type}
    return httpx.post(target.url, data=fields, files={"file": ("face.jpg", data, content_type)})


def test_presigned_post_upload_then_presigned_get(storage: S3ImageStorage) -> None:
    key = "users/u1/scans/s1/uploads/front"
    target = storage.upload_target(key=key, content_types=("image/jpeg", "image/png"), max_bytes=2_000_000)
    assert target.method == "POST" and "key" in target.fields and "policy" in target.fields
    photo = face_jpeg()
    response = _post(target, photo)
    assert response.status_code in (200, 201, 204), response.text
    assert storage.get(key=key) == photo
    downloaded = httpx.get(storage.download_url(key=key))
    assert downloaded.status_code == 200 and downloaded.content == photo


def test_presigned_post_policy_carries_size_and_type_limits(storage: S3ImageStorage) -> None:
    # moto does not enforce POST policy conditions (real S3 does), so check what we ask S3 to enforce.
    target = storage.upload_target(
        key="users/u1/scans/s2/uploads/front", content_types=("image/jpeg",), max_bytes=1000
    )
    policy = json.loads(base64.b64decode(target.fields["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 1, 1000] in conditions
    assert ["starts-with", "$Content-Type", "image/"] in conditions
    assert {"key": "users/u1/scans/s2/uploads/front"} in conditions
    assert policy["expiration"].endswith("Z")


def test_delete_prefix_removes_every_object(storage: S3ImageStorage) -> None:
    for angle in ("front", "left", "right"):
        storage.put(key=f"users/u9/scans/s9/{angle}.jpg", data=b"x", content_type="image/jpeg")
    storage.put(key="users/u10/scans/s1/front.jpg", data=b"keep", content_type="image/jpeg")
    assert storage.delete_prefix(prefix="users/u9/") == 3
    assert storage.get(key="users/u9/scans/s9/front.jpg") is None
    assert storage.get(key="users/u10/scans/s1/front.jpg") == b"keep"
    assert storage.delete_prefix(prefix="users/u9/") == 0


def test_unreachable_s3_is_a_503_error(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = s3_settings(f"http://127.0.0.1:{free_port()}", tmp_path, monkeypatch, aws_max_attempts=1)
    storage = S3ImageStorage(client=build_s3_client(settings), bucket=BUCKET, upload_ttl=60, download_ttl=60)
    with pytest.raises(DependencyUnavailableError):
        storage.put(key="users/x/a.jpg", data=b"x", content_type="image/jpeg")
