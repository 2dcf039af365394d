"""DynamoDB Local as the project starts it: loopback only, no telemetry, nothing left in the cwd."""

import socket
from pathlib import Path

import boto3
import pytest

from app.db import local_dynamodb
from app.db.local_dynamodb import HOST_LAUNCHER, LAUNCHER_CLASS, DynamoDBLocal, free_port


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def test_command_binds_loopback_and_disables_telemetry() -> None:
    command = DynamoDBLocal(port=8123).command()
    assert "-disableTelemetry" in command
    # The launcher compiled once (its class beside the jar), or its source when javac is missing.
    launcher = (
        command.index(LAUNCHER_CLASS) if LAUNCHER_CLASS in command else command.index(str(HOST_LAUNCHER))
    )
    assert command[launcher + 1] == "127.0.0.1"
    assert command[command.index("-port") + 1] == "8123"
    assert "-jar" not in command


def test_command_for_all_interfaces_is_the_stock_launcher() -> None:
    command = DynamoDBLocal(port=8123, host="0.0.0.0").command()
    assert "-jar" in command
    assert str(HOST_LAUNCHER) not in command
    assert "-disableTelemetry" in command


def test_listens_on_loopback_only_and_leaves_no_metadata_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 127.0.0.2 is this machine too, but not the bound address: a stand-in for a LAN address.
    monkeypatch.chdir(tmp_path)  # DynamoDB Local writes its telemetry metadata into the cwd
    port = free_port()
    with DynamoDBLocal(port=port, data_dir=tmp_path / "db") as local:
        assert local.endpoint == f"http://127.0.0.1:{port}"
        client = boto3.client(
            "dynamodb",
            endpoint_url=local.endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        assert client.list_tables()["TableNames"] == []
        assert _accepts("127.0.0.1", port)
        assert not _accepts("127.0.0.2", port)
    assert not (tmp_path / "dynamodb-local-metadata.json").exists()


def test_the_launcher_is_compiled_once_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_dynamodb, "LAUNCHER_CACHE", tmp_path / "cache")
    java, jar = local_dynamodb.check_java(), local_dynamodb.find_jar()
    first = local_dynamodb.compiled_launcher(java, jar)
    if first is None:
        pytest.skip("no javac next to java: the source-file launcher is used")
    assert (first / f"{LAUNCHER_CLASS}.class").exists()
    built_at = (first / f"{LAUNCHER_CLASS}.class").stat().st_mtime_ns
    assert local_dynamodb.compiled_launcher(java, jar) == first
    assert (first / f"{LAUNCHER_CLASS}.class").stat().st_mtime_ns == built_at
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [first.name]  # no draft left
