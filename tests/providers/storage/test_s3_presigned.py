"""The S3 backend against moto's server mode: the real presigned POST/GET HTTP flow."""

import base64
import contextlib
import json
from collections.abc import Iterator

import httpx
import pytest

from app.core.config import Settings
from app.core.errors import DependencyUnavailableError
from app.db.local_dynamodb import free_port
from app.providers.storage.s3 import S3ImageStorage, build_s3_client
from tests.conftest import make_settings
from tests.images import face_jpeg
from tests.moto_server import moto_server

BUCKET = "dermalens-test-images"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


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
    assert target.method == "POST"
    assert "key" in target.fields
    assert "policy" in target.fields
    photo = face_jpeg()
    response = _post(target, photo)
    assert response.status_code in (200, 201, 204), response.text
    assert storage.get(key=key) == photo
    downloaded = httpx.get(storage.download_url(key=key))
    assert downloaded.status_code == 200
    assert downloaded.content == photo


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


class RefusingS3:
    """The real (moto) client, but delete_objects answers per-key errors for some keys, as
    S3 does with HTTP 200 (AccessDenied, SlowDown, InternalError), deleting only the rest."""

    def __init__(self, real, refuse: set[str], times: int) -> None:
        self._real = real
        self.refuse = refuse
        self.times = times
        self.calls = 0

    def __getattr__(self, name: str):
        return getattr(self._real, name)

    def delete_objects(self, *, Bucket: str, Delete: dict) -> dict:  # noqa: N803 - boto3's names
        self.calls += 1
        refused = [o for o in Delete["Objects"] if o["Key"] in self.refuse] if self.times > 0 else []
        self.times -= 1
        allowed = [o for o in Delete["Objects"] if o not in refused]
        if allowed:
            self._real.delete_objects(Bucket=Bucket, Delete={**Delete, "Objects": allowed})
        return {"Errors": [{"Key": o["Key"], "Code": "InternalError", "Message": "retry"} for o in refused]}


def _three_photos(storage: S3ImageStorage, prefix: str) -> list[str]:
    keys = [f"{prefix}{angle}.jpg" for angle in ("front", "left", "right")]
    for key in keys:
        storage.put(key=key, data=b"x", content_type="image/jpeg")
    return keys


def test_delete_prefix_retries_keys_s3_refused(
    storage: S3ImageStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = _three_photos(storage, "users/u20/scans/s1/")
    flaky = RefusingS3(storage._s3, refuse={keys[1]}, times=2)
    monkeypatch.setattr(storage, "_s3", flaky)
    monkeypatch.setattr("app.providers.storage.s3.DELETE_BACKOFF_SECONDS", 0, raising=False)
    assert storage.delete_prefix(prefix="users/u20/") == 3
    assert flaky.calls == 3
    assert all(storage.get(key=key) is None for key in keys)


def test_delete_prefix_fails_loudly_when_s3_keeps_refusing(
    storage: S3ImageStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = _three_photos(storage, "users/u21/scans/s1/")
    monkeypatch.setattr(storage, "_s3", RefusingS3(storage._s3, refuse={keys[0]}, times=100))
    monkeypatch.setattr("app.providers.storage.s3.DELETE_BACKOFF_SECONDS", 0, raising=False)
    with pytest.raises(DependencyUnavailableError) as failed:
        storage.delete_prefix(prefix="users/u21/")
    assert failed.value.code == "storage_delete_failed"
    assert failed.value.details == {"remaining": 1}
    assert storage.get(key=keys[0]) == b"x", "the photo S3 refused to delete is still there"


def test_upload_expiry_lifecycle_rule_is_applied_next_to_existing_rules(storage: S3ImageStorage) -> None:
    from scripts.s3_lifecycle import RULE_ID, apply_upload_expiry

    client = storage._s3
    other = {"ID": "logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 30}}
    client.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": [other]})
    for _ in range(2):  # applying it again changes nothing
        apply_upload_expiry(client, bucket=BUCKET, days=1)
    rules = {r["ID"]: r for r in client.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]}
    assert set(rules) == {"logs", RULE_ID}
    ours = rules[RULE_ID]
    assert ours["Filter"] == {"Prefix": "uploads/"}
    assert ours["Status"] == "Enabled"
    assert ours["Expiration"] == {"Days": 1}
    assert ours["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
