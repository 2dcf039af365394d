"""S3 storage (production): private bucket, presigned POST with limits, presigned GET."""

import logging
from datetime import timedelta
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from app.core.config import Settings
from app.core.errors import DependencyUnavailableError
from app.core.security import utc_now
from app.db.dynamodb import aws_client_config
from app.services.storage.base import UploadTarget

logger = logging.getLogger("dermalens.storage.s3")


def build_s3_client(settings: Settings) -> Any:
    """Instance-role credentials; explicit timeouts and standard retries, like DynamoDB."""
    kwargs: dict[str, Any] = {"config": aws_client_config(settings, signature_version="s3v4")}
    if settings.s3_endpoint_url:
        kwargs["endpoint_url"] = settings.s3_endpoint_url
    return boto3.session.Session().client("s3", **kwargs)


class S3ImageStorage:
    """Objects in a private bucket; the client talks to S3 directly through presigned URLs."""

    name = "s3"

    def __init__(self, *, client: Any, bucket: str, upload_ttl: int, download_ttl: int) -> None:
        self._s3 = client
        self.bucket = bucket
        self._upload_ttl = upload_ttl
        self._download_ttl = download_ttl

    def upload_target(self, *, key: str, content_types: tuple[str, ...], max_bytes: int) -> UploadTarget:
        content_type = content_types[0]
        post = self._call(
            self._s3.generate_presigned_post,
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[
                ["content-length-range", 1, max_bytes],
                ["starts-with", "$Content-Type", "image/"],
            ],
            ExpiresIn=self._upload_ttl,
        )
        return UploadTarget(
            method="POST",
            url=post["url"],
            fields=post["fields"],
            expires_at=utc_now() + timedelta(seconds=self._upload_ttl),
            max_bytes=max_bytes,
        )

    def download_url(self, *, key: str) -> str:
        return self._call(
            self._s3.generate_presigned_url,
            ClientMethod="get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=self._download_ttl,
        )

    def put(self, *, key: str, data: bytes, content_type: str) -> None:
        self._call(
            self._s3.put_object,
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            ServerSideEncryption="AES256",
        )

    def get(self, *, key: str) -> bytes | None:
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=key)
            return response["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"NoSuchKey", "404"}:
                return None
            raise DependencyUnavailableError("Image storage is unavailable.") from exc
        except BotoCoreError as exc:
            raise DependencyUnavailableError("Image storage is unavailable.") from exc

    def delete_prefix(self, *, prefix: str) -> int:
        deleted = 0
        paginator = self._s3.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
                if keys:
                    self._s3.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
                    deleted += len(keys)
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailableError("Image storage is unavailable.") from exc
        return deleted

    def check(self) -> None:
        self._s3.head_bucket(Bucket=self.bucket)

    def _call(self, operation: Any, **kwargs: Any) -> Any:
        try:
            return operation(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailableError("Image storage is unavailable.") from exc
