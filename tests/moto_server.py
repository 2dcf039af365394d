"""moto's server on a free loopback port: AWS services over real HTTP, as boto3 sees them."""

from collections.abc import Iterator
from contextlib import contextmanager

from moto.server import ThreadedMotoServer

from app.db.local_dynamodb import free_port

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
