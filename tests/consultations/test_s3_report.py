"""The report with STORAGE_BACKEND=s3 (moto's S3 server): stored in the bucket, served, deleted on cancel."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.db.keys import consultation_report_key
from app.providers.storage.s3 import build_s3_client
from tests.consultations.helpers import CONSULTATIONS, make_patient, request_consultation
from tests.moto_server import app_on_moto_s3

BUCKET = "dermalens-consultations-test"


@pytest.fixture(scope="module")
def s3_app(dynamodb_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with app_on_moto_s3(dynamodb_endpoint, tmp_path_factory.mktemp("s3consult"), BUCKET) as client:
        yield client


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
