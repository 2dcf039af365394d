"""Image storage: pick the backend from settings."""

from app.core.config import Settings
from app.providers.storage.base import ImageStorage, UploadTarget
from app.providers.storage.local import LocalImageStorage
from app.providers.storage.s3 import S3ImageStorage, build_s3_client

__all__ = ["ImageStorage", "LocalImageStorage", "S3ImageStorage", "UploadTarget", "build_storage"]


def build_storage(settings: Settings) -> ImageStorage:
    if settings.storage_backend == "s3":
        return S3ImageStorage(
            client=build_s3_client(settings),
            bucket=settings.s3_bucket_name,
            upload_ttl=settings.upload_url_ttl_seconds,
            download_ttl=settings.download_url_ttl_seconds,
        )
    return LocalImageStorage(
        root=settings.dermalens_data_dir / "images",
        secret_key=settings.secret_key,
        upload_ttl=settings.upload_url_ttl_seconds,
        download_ttl=settings.download_url_ttl_seconds,
        public_base_url=settings.public_base_url,
    )
