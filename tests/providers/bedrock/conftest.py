"""One fake Bedrock Runtime per module, and the credentials the default chain will find."""

from collections.abc import Iterator

import pytest

from tests.providers.bedrock.fake_bedrock import FakeBedrock


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeBedrock]:
    with FakeBedrock() as server:
        yield server


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, fake: FakeBedrock) -> None:
    """The default credential chain finds these (as it would find the instance role on EC2)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "fake-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    fake.replies.clear()
