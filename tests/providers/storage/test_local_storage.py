"""Local image storage: writes that race a prefix delete (an account deletion) still land whole."""

import tempfile
from pathlib import Path
from typing import Any

import pytest

from app.providers.storage import local
from app.providers.storage.local import LocalImageStorage


def _storage(root: Path) -> LocalImageStorage:
    return LocalImageStorage(root=root, secret_key="k" * 32, upload_ttl=60, download_ttl=60)


def test_a_write_whose_new_directory_a_racing_delete_removes_still_lands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The delete runs between the write making the scan's directory and creating its file."""
    storage = _storage(tmp_path)
    make_temporary = tempfile.mkstemp
    deletes = iter(range(2))  # the first two tries lose the race

    def delete_then_make(**kwargs: Any) -> tuple[int, str]:
        if next(deletes, None) is not None:
            storage.delete_prefix(prefix="users/u1/")
        return make_temporary(**kwargs)

    monkeypatch.setattr(local.tempfile, "mkstemp", delete_then_make)
    storage.put(key="users/u1/scans/s1/front.jpg", data=b"photo", content_type="image/jpeg")
    assert storage.get(key="users/u1/scans/s1/front.jpg") == b"photo"
    assert [p.name for p in (tmp_path / "users/u1/scans/s1").iterdir()] == ["front.jpg"]


def test_a_write_that_keeps_losing_the_race_fails_plainly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = _storage(tmp_path)
    make_temporary = tempfile.mkstemp

    def always_deleted(**kwargs: Any) -> tuple[int, str]:
        storage.delete_prefix(prefix="users/u1/")
        return make_temporary(**kwargs)

    monkeypatch.setattr(local.tempfile, "mkstemp", always_deleted)
    with pytest.raises(FileNotFoundError):
        storage.put(key="users/u1/scans/s1/front.jpg", data=b"photo", content_type="image/jpeg")
