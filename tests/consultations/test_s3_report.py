"""The report with STORAGE_BACKEND=s3 (moto's S3 server): stored in the bucket, served, deleted on cancel."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from moto.server import ThreadedMotoServer

from app.db.keys import consultation_report_key
from app.db.local_dynamodb import free_port
from app.main import create_app
from app.providers.storage.s3 import build_s3_client
from tests.conftest import make_settings
from tests.consultations.helpers import CONSULTATIONS, make_patient, request_consultation

BUCKET = "dermalens-consultations-test"


@pytest.fixture(scope="module")
def s3_app(dynamodb_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    patch = pytest.MonkeyPatch()
    # moto accepts any credentials; production uses the instance role.
    patch.setenv("AWS_ACCESS_KEY_ID", "testing")
    patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings = make_settings(
        dynamodb_endpoint,
        tmp_path_factory.mktemp("s3consult"),
        storage_backend="s3",
        s3_bucket_name=BUCKET,
        s3_endpoint_url=f"http://127.0.0.1:{port}",
    )
    build_s3_client(settings).create_bucket(Bucket=BUCKET)
    try:
        with TestClient(create_app(settings)) as client:
            yield client
    finally:
        patch.undo()
        server.stop()


def test_the_report_lives_in_the_bucket_until_the_request_is_cancelled(s3_app: TestClient) -> None:
    client = s3_app
    s3 = build_s3_client(client.app.state.container.settings)  # type: ignore[attr-defined]
    patient = make_patient(client)
    consultation = request_consultation(client, patient)
    key = consultation_report_key(patient["user"]["user_id"], consultation["consultation_id"])
    stored = s3.get_object(Bucket=BUCKET, Key=key)
    assert stored["ContentType"] == "application/pdf"
    assert stored["ServerSideEncryption"] == "AES256"
    opened = client.get(consultation["report"]["url"])
    assert opened.status_code == 200
    assert opened.content == stored["Body"].read()
    cancelled = client.post(
        f"{CONSULTATIONS}/{consultation['consultation_id']}/cancel", headers=patient["headers"]
    )
    assert cancelled.status_code == 200
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount") == 0
    assert client.get(consultation["report"]["url"]).status_code == 410
