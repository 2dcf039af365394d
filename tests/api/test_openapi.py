"""The OpenAPI document is good enough to generate a client from, the TypeScript types made
from it are current, and the docs pages render from the app's own files in a real browser."""

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from app.api.responses import ERROR_DESCRIPTIONS, error_responses
from app.main import create_app
from tests.conftest import make_settings
from tests.envfiles import ROOT
from tests.processes import api_instance, isolated_tables, process_env

OPERATION_ID = re.compile(r"^[a-z]+(-[a-z]+)+$")
# Liveness answers 200 or nothing at all: no error response to declare.
NO_ERRORS = {"health-get"}
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def document(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def test_operation_ids_are_readable_and_unique(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    assert [i for i in ids if not OPERATION_ID.match(i)] == []
    by_route = {(method, path): op["operationId"] for method, path, op in operations(document)}
    assert by_route[("POST", "/api/v1/scans")] == "scans-create"
    assert by_route[("GET", "/api/v1/scans/{scan_id}")] == "scans-get"
    assert by_route[("GET", "/api/v1/plans/active")] == "plans-get-active"
    assert by_route[("GET", "/api/v1/progress")] == "progress-get"


def test_a_new_router_gets_readable_operation_ids_for_free(tmp_path: Path) -> None:
    app = create_app(make_settings("http://127.0.0.1:1", tmp_path))
    wishlist = APIRouter(prefix="/wishlist", tags=["wishlist"])

    @wishlist.get("/items", responses=error_responses(401))
    def list_items() -> list[str]:
        return []

    app.include_router(wishlist, prefix="/api/v1")
    assert app.openapi()["paths"]["/api/v1/wishlist/items"]["get"]["operationId"] == "wishlist-list-items"


def test_each_operation_declares_its_own_errors_in_the_envelope(document: dict[str, Any]) -> None:
    every_error = {str(status) for status in ERROR_DESCRIPTIONS}
    declared: dict[str, set[str]] = {}
    for _, _, operation in operations(document):
        errors = {status for status in operation["responses"] if status[0] in "45"}
        declared[operation["operationId"]] = errors
        if operation["operationId"] == "health-ready":
            continue  # its 503 is the readiness report itself, not an error envelope
        for status in errors:
            schema = operation["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}, (
                operation["operationId"],
                status,
            )
    assert [op for op, errors in declared.items() if not errors and op not in NO_ERRORS] == []
    # The old global list of ten on every operation is gone, and nothing re-adds it.
    assert [op for op, errors in declared.items() if errors == every_error] == []
    assert len({frozenset(errors) for errors in declared.values()}) > 5
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert declared["scans-upload"] >= {"401", "413", "415", "422", "429"}
    assert declared["plans-create"] >= {"401", "404", "409", "422"}
    assert "404" not in declared["auth-register"]


def test_tags_enums_formats_and_examples(document: dict[str, Any]) -> None:
    described = {tag["name"]: tag["description"] for tag in document["tags"]}
    used = {tag for _, _, op in operations(document) for tag in op["tags"]}
    assert used <= set(described)
    assert all(described[tag] for tag in used)
    schemas = document["components"]["schemas"]
    assert schemas["ScanRead"]["properties"]["status"]["enum"] == [
        "awaiting_upload",
        "queued",
        "processing",
        "completed",
        "failed",
        "expired",
    ]
    assert "replaced" in schemas["PlanRead"]["properties"]["status"]["enum"]
    assert schemas["ChatMessageRead"]["properties"]["role"]["enum"] == ["user", "assistant"]
    assert schemas["ScanRead"]["properties"]["created_at"]["format"] == "date-time"
    submitted = schemas["ScanRead"]["properties"]["submitted_at"]["anyOf"][0]
    assert submitted == {"type": "string", "format": "date-time"}
    for body in (
        "UserRegister",
        "UserLogin",
        "ScanCreate",
        "PlanCreate",
        "CheckInCreate",
        "ChatMessageCreate",
    ):
        assert schemas[body].get("examples"), f"{body} has no example"


def test_the_typescript_types_are_current() -> None:
    # Regenerates openapi.json and the .d.ts with the pinned openapi-typescript and diffs them.
    result = subprocess.run(
        [sys.executable, "scripts/generate_client_types.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    types = (ROOT / "clients" / "typescript" / "dermalens-api.d.ts").read_text()
    assert '"scans-create": {' in types


def test_docs_pages_load_only_the_apps_own_assets(client: TestClient) -> None:
    for page in ("/api/v1/docs", "/api/v1/redoc"):
        html = client.get(page).text
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources, page
        assert [s for s in sources if s.startswith(("http:", "https:", "//"))] == [], page
        for source in sources:
            asset = client.get(source)
            assert asset.status_code == 200, source
            assert len(asset.content) > 1000, source
    assert "javascript" in client.get("/api/v1/docs/assets/swagger-ui-bundle.js").headers["content-type"]


def rendered(url: str, tmp_path: Path) -> str:
    """The DOM headless Chromium ends up with after running the page's scripts."""
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'chromium'}",
            "--virtual-time-budget=20000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is installed by make test")
def test_swagger_ui_and_redoc_render_the_operations_in_a_browser(
    dynamodb_endpoint: str, tmp_path: Path
) -> None:
    env = process_env(dynamodb_endpoint, tmp_path / "data", **isolated_tables("docs"))
    with api_instance(env, tmp_path / "api.log") as api:
        swagger = rendered(f"{api.base_url}/api/v1/docs", tmp_path)
        redoc = rendered(f"{api.base_url}/api/v1/redoc", tmp_path)
    # Swagger UI: one block per operation, grouped under the tags.
    assert swagger.count('class="opblock opblock-') >= 30, swagger[-2000:]
    assert "/api/v1/scans/{scan_id}/submit" in swagger
    assert 'id="operations-tag-scans"' in swagger
    # ReDoc: the operations' menu and their sections.
    assert 'data-section-id="operation/scans-create"' in redoc or "operation/scans-create" in redoc, redoc[
        -2000:
    ]
