"""ANALYSIS_QUEUE=sqs end to end against moto's SQS server: submits become messages, workers
long-poll them, a poisoned job lands in the dead-letter queue, and an API-only instance
leaves the work to `python -m app.worker`."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from app.core.security import new_id
from app.main import create_app
from app.providers.queue import SqsJobQueue
from tests.conftest import PASSWORD, make_settings, unique_email
from tests.helpers import SCANS, upload_scan, wait_for
from tests.images import face_jpeg
from tests.moto_server import moto_server
from tests.processes import child_process, isolated_tables, process_env, wait_until

MAX_RECEIVES = 2


@pytest.fixture(scope="module")
def sqs_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # moto accepts any credentials; on EC2 the instance role signs instead.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def queues(sqs_endpoint: str, aws_env: None) -> dict[str, Any]:  # noqa: ARG001 - needs the credentials
    """A fresh queue with its dead-letter queue (after MAX_RECEIVES receives), as CloudFormation makes them."""
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=sqs_endpoint)
    name = f"analysis-{new_id().lower()}"
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES)})
    url = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    return {"client": sqs, "url": url, "dlq_url": dlq_url, "endpoint": sqs_endpoint}


def counts(sqs: Any, url: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def sqs_overrides(queues: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "analysis_queue": "sqs",
        "sqs_queue_url": queues["url"],
        "sqs_endpoint_url": queues["endpoint"],
        "sqs_wait_seconds": 1,
        "sqs_visibility_timeout_seconds": 1,
        **isolated_tables(f"sqs-{new_id().lower()}"),
        **extra,
    }


def sign_up(client: TestClient) -> tuple[str, dict[str, str]]:
    """A new user's id and bearer headers."""
    response = client.post("/api/v1/auth/register", json={"email": unique_email(), "password": PASSWORD})
    assert response.status_code == 201, response.text
    body = response.json()
    return body["user"]["user_id"], {"Authorization": f"Bearer {body['tokens']['access_token']}"}


def test_a_submitted_scan_goes_through_sqs_and_is_analysed_once(
    dynamodb_endpoint: str, tmp_path: Path, queues: dict[str, Any]
) -> None:
    settings = make_settings(dynamodb_endpoint, tmp_path, **sqs_overrides(queues, analysis_workers=2))
    with TestClient(create_app(settings)) as client:
        user_id, headers = sign_up(client)
        scan = upload_scan(client, headers, face_jpeg())
        done = wait_for(client, headers, scan["scan_id"], timeout=60)
        container: Any = client.app.state.container  # type: ignore[attr-defined]
        stored = container.scans_repo.get(user_id=user_id, scan_id=scan["scan_id"])
    assert done["status"] == "completed", done
    assert stored.attempts == 1  # claimed once, although two workers poll the queue
    # The message was deleted after the analysis: nothing waits, nothing is in flight.
    assert wait_until(lambda: counts(queues["client"], queues["url"]) == (0, 0), timeout=10)
    assert counts(queues["client"], queues["dlq_url"]) == (0, 0)


def test_a_job_no_worker_can_handle_ends_in_the_dead_letter_queue(
    dynamodb_endpoint: str, tmp_path: Path, queues: dict[str, Any]
) -> None:
    settings = make_settings(dynamodb_endpoint, tmp_path, **sqs_overrides(queues, analysis_workers=1))
    with TestClient(create_app(settings)):
        queues["client"].send_message(QueueUrl=queues["url"], MessageBody="not a job")
        # Received, left alone, visible again after 1 s, received again; then redriven.
        wait_until(
            lambda: counts(queues["client"], queues["dlq_url"])[0] == 1, timeout=30, message="the dead letter"
        )
    parked = queues["client"].receive_message(QueueUrl=queues["dlq_url"], WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in parked] == ["not a job"]


def test_an_api_only_instance_queues_and_a_worker_process_analyses(
    dynamodb_endpoint: str, tmp_path: Path, queues: dict[str, Any]
) -> None:
    overrides = sqs_overrides(queues, analysis_workers=0)
    settings = make_settings(dynamodb_endpoint, tmp_path / "data", **overrides)
    with TestClient(create_app(settings)) as client:
        _, headers = sign_up(client)
        scan = upload_scan(client, headers, face_jpeg())
        # ANALYSIS_WORKERS=0: the job waits in SQS, the scan stays queued.
        assert wait_until(lambda: counts(queues["client"], queues["url"])[0] == 1, timeout=10)
        assert client.get(f"{SCANS}/{scan['scan_id']}", headers=headers).json()["status"] == "queued"

        env = process_env(
            dynamodb_endpoint,
            tmp_path / "data",
            **{**overrides, "analysis_workers": 1, "aws_access_key_id": "testing"},
        )
        env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
        with child_process(["-m", "app.worker"], env, tmp_path / "worker.log") as worker:
            done = wait_for(client, headers, scan["scan_id"], timeout=90)
        assert worker.process.returncode == 0, worker.tail()  # SIGTERM: a clean stop
    assert done["status"] == "completed", worker.tail()
    lines = worker.log_lines()
    assert [line["scan_id"] for line in lines if line["msg"] == "analysis started"] == [scan["scan_id"]]
    startup = next(line for line in lines if "startup" in line)
    assert startup["startup"]["role"] == "worker"
    assert startup["startup"]["analysis_queue"] == "sqs"


def test_doctor_check_wants_a_dead_letter_queue(queues: dict[str, Any]) -> None:
    with_dlq = SqsJobQueue(client=queues["client"], queue_url=queues["url"], visibility_timeout=30)
    ok, message = with_dlq.doctor_check()
    assert ok, message
    assert f"after {MAX_RECEIVES} receives" in message

    bare_url = queues["client"].create_queue(QueueName=f"bare-{new_id().lower()}")["QueueUrl"]
    ok, message = SqsJobQueue(
        client=queues["client"], queue_url=bare_url, visibility_timeout=30
    ).doctor_check()
    assert not ok
    assert "dead-letter" in message

    missing = SqsJobQueue(client=queues["client"], queue_url=bare_url + "-gone", visibility_timeout=30)
    ok, message = missing.doctor_check()
    assert not ok
    assert "unreachable" in message
