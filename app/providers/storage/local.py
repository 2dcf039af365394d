"""Local filesystem storage (embedded default) with app-served signed URLs.

A signed URL carries a short-lived token (HMAC-signed JWT, `typ=storage`) naming the key,
the allowed method, size and content types. A tampered or expired token → 403.
"""

import contextlib
import os
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt

from app.core.errors import PayloadTooLargeError, UnsupportedMediaTypeError
from app.core.security import utc_now
from app.providers.storage.base import InvalidSignedUrlError, UploadTarget

STORAGE_ROUTE = "/api/v1/storage/"
# A directory made for a write can be removed by a racing prefix delete before the file is in it.
TEMPORARY_FILE_ATTEMPTS = 5


class LocalImageStorage:
    """Files under `<data dir>/images`; uploads and downloads go through the app itself."""

    name = "local"

    def __init__(
        self, *, root: Path, secret_key: str, upload_ttl: int, download_ttl: int, public_base_url: str = ""
    ) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._key = secret_key + ":storage"
        self._upload_ttl = timedelta(seconds=upload_ttl)
        self._download_ttl = timedelta(seconds=download_ttl)
        self._base = public_base_url.rstrip("/")

    # ---- signed URLs ----

    def upload_target(self, *, key: str, content_types: tuple[str, ...], max_bytes: int) -> UploadTarget:
        expires_at = utc_now() + self._upload_ttl
        token = self._sign({"key": key, "op": "put", "ct": list(content_types), "max": max_bytes}, expires_at)
        return UploadTarget(
            method="PUT",
            url=f"{self._base}{STORAGE_ROUTE}{token}",
            headers={"Content-Type": content_types[0]},
            expires_at=expires_at,
            max_bytes=max_bytes,
        )

    def download_url(self, *, key: str) -> str:
        token = self._sign({"key": key, "op": "get"}, utc_now() + self._download_ttl)
        return f"{self._base}{STORAGE_ROUTE}{token}"

    def verify(self, token: str, *, op: str) -> dict[str, Any]:
        """The claims of a valid token for `op`; 403 otherwise."""
        try:
            claims = jwt.decode(
                token, self._key, algorithms=["HS256"], options={"require": ["exp", "key", "op"]}
            )
        except jwt.PyJWTError as exc:
            raise InvalidSignedUrlError() from exc
        if claims.get("typ") != "storage" or claims.get("op") != op:
            raise InvalidSignedUrlError()
        return claims

    def accept_upload(self, *, token: str, data: bytes, content_type: str) -> str:
        """Store a PUT made to a signed URL, enforcing its limits; returns the key."""
        claims = self.verify(token, op="put")
        if content_type.split(";")[0].strip().lower() not in claims.get("ct", []):
            raise UnsupportedMediaTypeError(
                f"Content-Type must be one of {', '.join(claims.get('ct', []))}.",
                code="unsupported_content_type",
            )
        if len(data) > int(claims["max"]):
            raise PayloadTooLargeError(
                f"The file is larger than {claims['max']} bytes.",
                code="image_too_large",
                details={"max_bytes": claims["max"]},
            )
        self.put(key=claims["key"], data=data, content_type=content_type)
        return str(claims["key"])

    def _sign(self, claims: dict[str, Any], expires_at: Any) -> str:
        payload = {**claims, "typ": "storage", "exp": int(expires_at.timestamp())}
        return jwt.encode(payload, self._key, algorithm="HS256")

    # ---- objects ----

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise InvalidSignedUrlError()
        return path

    def put(self, *, key: str, data: bytes, content_type: str) -> None:  # noqa: ARG002 - the ImageStorage signature
        path = self._path(key)
        fd, tmp = self._temporary_beside(path)
        # Write then rename: a reader never sees half a file.
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)

    @staticmethod
    def _temporary_beside(path: Path) -> tuple[int, str]:
        """A new temporary file in path's directory, made if needed.

        A `delete_prefix` running at the same moment (an account deletion racing an upload)
        removes empty directories, possibly the one just made: it is then made again. Once the
        temporary file is in it, the directory is not empty and stays.
        """
        for _ in range(TEMPORARY_FILE_ATTEMPTS - 1):
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                return tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            except FileNotFoundError:
                continue
        path.parent.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(dir=path.parent, prefix=".upload-")

    def get(self, *, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.is_file() else None

    def delete_prefix(self, *, prefix: str) -> int:
        base = self._path(prefix.rstrip("/"))
        if base.is_file():
            base.unlink()
            return 1
        if not base.is_dir():
            return 0
        files = [p for p in base.rglob("*") if p.is_file()]
        for file in files:
            file.unlink(missing_ok=True)
        # Directories last, deepest first; another deleter (or a late writer) may race us.
        for directory in sorted((p for p in base.rglob("*") if p.is_dir()), reverse=True):
            with contextlib.suppress(FileNotFoundError, OSError):
                directory.rmdir()
        with contextlib.suppress(FileNotFoundError, OSError):
            base.rmdir()
        return len(files)

    def list_objects(self, *, prefix: str) -> Iterator[tuple[str, float]]:
        """(key, modification epoch seconds) of every file under the prefix (sweeps)."""
        base = self._path(prefix.rstrip("/"))
        if not base.is_dir():
            return
        for path in base.rglob("*"):
            if path.is_file() and not path.name.startswith(".upload-"):
                try:
                    yield path.relative_to(self.root).as_posix(), path.stat().st_mtime
                except FileNotFoundError:  # deleted meanwhile
                    continue

    def check(self) -> None:
        # A probe file of its own per call: concurrent probes must not unlink each other's.
        with tempfile.NamedTemporaryFile(dir=self.root, prefix=".ready-probe-") as probe:
            probe.write(b"ok")
            probe.flush()
