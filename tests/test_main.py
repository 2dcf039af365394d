"""The first edition's start command, `uvicorn app.main:app`, keeps working."""

import importlib

import httpx
import pytest
from fastapi import FastAPI

from app.core.config import get_settings
from app.core.security import new_id
from tests.envfiles import ROOT
from tests.processes import api_instance, isolated_tables, process_env


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


def test_later_accesses_get_the_same_app(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("SECRET_KEY", "a-test-secret-key-that-is-long-enough-0123")
    monkeypatch.setenv("DERMALENS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        main = importlib.import_module("app.main")
        assert main.app is main.app
    finally:
        get_settings.cache_clear()


def test_uvicorn_reload_serves_the_module_level_app(dynamodb_endpoint: str, tmp_path) -> None:
    """`uvicorn app.main:app --reload` for real: the reloader's child imports the app and serves."""
    env = process_env(dynamodb_endpoint, tmp_path / "data", **isolated_tables(f"reload-{new_id().lower()}"))
    reload_args = ("--reload", "--reload-dir", str(ROOT / "app"))
    with api_instance(env, tmp_path / "reload.log", extra_args=reload_args) as api:
        assert httpx.get(f"{api.base_url}/api/v1/openapi.json", timeout=10).status_code == 200
    assert "reloader process" in api.log_path.read_text()
