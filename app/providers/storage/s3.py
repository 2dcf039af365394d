"""S3 storage (production): private bucket, presigned POST with limits, presigned GET."""

import logging
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from app.core.config import Settings
from app.core.errors import DependencyUnavailableError
from app.core.security import utc_now
from app.db.dynamodb import aws_client_config
from app.providers.storage.base import UploadTarget

if TYPE_CHECKING:  # the stubs are a dev dependency; at run time boto3 builds the class
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger("dermalens.storage.s3")

T = TypeVar("T")

DELETE_ATTEMPTS = 4
DELETE_BACKOFF_SECONDS = 0.2


def build_s3_client(settings: Settings) -> "S3Client":
    """Instance-role credentials; explicit timeouts and standard retries, like DynamoDB."""
    kwargs: dict[str, Any] = {"config": aws_client_config(settings, signature_version="s3v4")}
    if settings.s3_endpoint_url:
        kwargs["endpoint_url"] = settings.s3_endpoint_url
    return boto3.session.Session().client("s3", **kwargs)


class S3ImageStorage:
    """Objects in a private bucket; the client talks to S3 directly through presigned URLs."""

    name = "s3"

    def __init__(self, *, client: "S3Client", bucket: str, upload_ttl: int, download_ttl: int) -> None:
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
        """Delete every object under the prefix; per-key failures are retried, then raised."""
        deleted = 0
        paginator = self._s3.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                keys = [obj["Key"] for obj in page.get("Contents", [])]
                if keys:
                    self._delete_keys(keys)
                    deleted += len(keys)
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailableError("Image storage is unavailable.") from exc
        return deleted

    def _delete_keys(self, keys: list[str]) -> None:
        # delete_objects answers 200 even when some keys failed (AccessDenied, SlowDown,
        # InternalError): those come back in `Errors` and must not be reported as deleted.
        pending = keys
        for attempt in range(DELETE_ATTEMPTS):
            response = self._s3.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in pending], "Quiet": True}
            )
            errors = response.get("Errors") or []
            if not errors:
                return
            pending = [error["Key"] for error in errors]
            logger.warning(
                "S3 refused to delete some objects",
                extra={"count": len(pending), "codes": sorted({e.get("Code", "") for e in errors})},
            )
            if attempt + 1 < DELETE_ATTEMPTS:
                time.sleep(DELETE_BACKOFF_SECONDS * 2**attempt)
        raise DependencyUnavailableError(
            "Some photos could not be deleted yet; try again shortly.",
            code="storage_delete_failed",
            details={"remaining": len(pending)},
        )

    def list_objects(self, *, prefix: str) -> Iterator[tuple[str, float]]:
        """(key, last-modified epoch seconds) of every object under the prefix (sweeps)."""
        paginator = self._s3.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    yield obj["Key"], obj["LastModified"].timestamp()
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailableError("Image storage is unavailable.") from exc

    def check(self) -> None:
        self._s3.head_bucket(Bucket=self.bucket)

    def _call(self, operation: Callable[..., T], **kwargs: Any) -> T:
        try:
            return operation(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailableError("Image storage is unavailable.") from exc
