"""Amazon SQS as the analysis queue: long polling, a visibility timeout per job, and the
queue's own redrive policy sending a job that keeps failing to the dead-letter queue."""

import json
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from app.core.errors import DependencyUnavailableError
from app.providers.queue.base import QueuedJob

logger = logging.getLogger("dermalens.queue")


class SqsJobQueue:
    """Jobs are JSON bodies `{"user_id", "scan_id"}`; the scan item stays the durable record."""

    name = "sqs"

    def __init__(self, *, client: Any, queue_url: str, visibility_timeout: int) -> None:
        self._client = client
        self._url = queue_url
        self._visibility = visibility_timeout

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._client, operation)(QueueUrl=self._url, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            # The scan keeps its job marker, so a lost send is picked up by the recovery sweep.
            raise DependencyUnavailableError("The analysis queue is unavailable.") from exc

    def send(self, *, user_id: str, scan_id: str) -> None:
        self._call("send_message", MessageBody=json.dumps({"user_id": user_id, "scan_id": scan_id}))

    def receive(self, *, max_jobs: int, wait_seconds: int) -> list[QueuedJob]:
        answer = self._call(
            "receive_message",
            MaxNumberOfMessages=max(1, min(max_jobs, 10)),
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=self._visibility,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        jobs: list[QueuedJob] = []
        for message in answer.get("Messages", []):
            try:
                body = json.loads(message["Body"])
                job = QueuedJob(
                    user_id=str(body["user_id"]),
                    scan_id=str(body["scan_id"]),
                    receipt=message["ReceiptHandle"],
                    receive_count=int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
                )
            except (ValueError, KeyError, TypeError):
                # Not one of ours: left alone, the redrive policy parks it in the dead-letter queue.
                logger.warning("unreadable analysis job left for the dead-letter queue")
                continue
            jobs.append(job)
        return jobs

    def done(self, *, job: QueuedJob) -> None:
        self._call("delete_message", ReceiptHandle=job.receipt)

    def depth(self) -> int:
        answer = self._call("get_queue_attributes", AttributeNames=["ApproximateNumberOfMessages"])
        return int(answer.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))

    def doctor_check(self) -> tuple[bool, str]:
        try:
            answer = self._call("get_queue_attributes", AttributeNames=["All"])
        except DependencyUnavailableError as exc:
            return False, f"SQS queue {self._url} unreachable ({exc.__cause__})"
        attributes = answer.get("Attributes", {})
        redrive = attributes.get("RedrivePolicy")
        if not redrive:
            return False, f"SQS queue {self._url} has no dead-letter queue (RedrivePolicy)"
        receives = json.loads(redrive).get("maxReceiveCount")
        waiting = attributes.get("ApproximateNumberOfMessages", "?")
        return True, f"SQS queue reachable, {waiting} waiting, dead-letter after {receives} receives"
