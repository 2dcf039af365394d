"""moto's server on a free loopback port: AWS services over real HTTP, as boto3 sees them."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from moto.server import ThreadedMotoServer

from app.core.security import new_id
from app.db.local_dynamodb import free_port
from app.main import create_app
from app.providers.storage.s3 import build_s3_client
from tests.conftest import make_settings
from tests.processes import isolated_tables

# moto accepts any credentials; on EC2 the instance role signs the requests instead.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@contextmanager
def moto_server() -> Iterator[str]:
    """A running moto server; its endpoint URL."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@contextmanager
def app_on_moto_s3(dynamodb_endpoint: str, data_dir: Path, bucket: str) -> Iterator[TestClient]:
    """The app with STORAGE_BACKEND=s3 against a fresh moto S3 (the bucket created), started.

    Its tables are its own: the session app's pending-scan sweep would otherwise claim this
    app's queued scans and look for their photos in its local storage (`image_missing`)."""
    with pytest.MonkeyPatch.context() as patch, moto_server() as endpoint:
        for name, value in FAKE_CREDENTIALS.items():
            patch.setenv(name, value)
        settings = make_settings(
            dynamodb_endpoint,
            data_dir,
            storage_backend="s3",
            s3_bucket_name=bucket,
            s3_endpoint_url=endpoint,
            **isolated_tables(f"s3-{new_id().lower()}"),
        )
        build_s3_client(settings).create_bucket(Bucket=bucket)
        with TestClient(create_app(settings)) as client:
            yield client
