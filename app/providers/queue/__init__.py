"""The analysis queue: in-process by default (no provider), SQS for several instances."""

import boto3
from botocore.config import Config

from app.core.config import Settings
from app.db.dynamodb import aws_client_config
from app.providers.queue.base import JobQueue, QueuedJob
from app.providers.queue.sqs import SqsJobQueue

__all__ = ["JobQueue", "QueuedJob", "SqsJobQueue", "build_job_queue"]


def build_job_queue(settings: Settings) -> JobQueue | None:
    """The shared queue ANALYSIS_QUEUE names, or None for the in-process default."""
    if settings.analysis_queue != "sqs":
        return None
    # Reads wait up to SQS_WAIT_SECONDS on the server, so the read timeout must be longer.
    config = aws_client_config(settings).merge(Config(read_timeout=settings.sqs_wait_seconds + 10))
    client = boto3.session.Session().client(
        "sqs",
        region_name=settings.aws_region,
        endpoint_url=settings.sqs_endpoint_url or None,
        config=config,
    )
    return SqsJobQueue(
        client=client,
        queue_url=settings.sqs_queue_url,
        visibility_timeout=settings.sqs_visibility_timeout_seconds,
    )
