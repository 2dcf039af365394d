"""The first edition's start command, `uvicorn app.main:app`, keeps working."""

import importlib

import pytest
from fastapi import FastAPI

from app.core.config import get_settings


def test_module_level_app_is_built_on_first_access(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("SECRET_KEY", "a-test-secret-key-that-is-long-enough-0123")
    monkeypatch.setenv("DERMALENS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        main = importlib.import_module("app.main")
        app = main.app
        assert isinstance(app, FastAPI)
        assert "/api/v1/auth/login" in app.openapi()["paths"]
        with pytest.raises(AttributeError):
            _ = main.not_an_app
    finally:
        get_settings.cache_clear()
