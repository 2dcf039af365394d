"""The OpenAPI document and the docs pages, set up once for every router.

- operationIds read `<tag>-<action>` (`scans-create`, `plans-get-active`) from ONE
  function, so new routers get them without doing anything;
- tags carry descriptions; `*_at` strings are `date-time` (the naming rule of
  CONVENTIONS.md); validation errors are the one error envelope;
- Swagger UI and ReDoc load from this app's own files (the pinned `fastapi-offline`
  wheel ships them), never from a CDN: they work offline and under a strict CSP.
"""

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"

TAGS: list[dict[str, str]] = [
    {
        "name": "auth",
        "description": "Accounts and sessions: sign-up, sign-in, token refresh, profile, export, deletion.",
    },
    {
        "name": "scans",
        "description": "Face photos (front, left, right) and their analysis: scores, quality, deltas.",
    },
    {"name": "progress", "description": "Per-metric time series and trend across completed scans."},
    {
        "name": "plans",
        "description": "Four-week treatment plans (locked for one skin cycle) and daily check-ins.",
    },
    {"name": "ingredients", "description": "The ingredient database and conflict checks for products."},
    {"name": "chat", "description": "The assistant, answering with your own scans and plan as context."},
    {
        "name": "journal",
        "description": "Daily journal: mood, energy, stress, sleep, notes; cycle day filled in.",
    },
    {
        "name": "cycle",
        "description": "Period logs, predictions of the next periods, and today's cycle phase.",
    },
    {
        "name": "insights",
        "description": "Your scan scores and self-ratings by cycle phase, with what is meaningful.",
    },
    {"name": "skin-logs", "description": "Daily self-rated skin logs (no photo needed)."},
    {
        "name": "preferences",
        "description": "Reminder times, rescan interval, notification switches, cloud-AI opt-out.",
    },
    {
        "name": "statistics",
        "description": "Your numbers: scans, score change, plan adherence, streak, rescan due.",
    },
    {"name": "notifications", "description": "The in-app feed, and push devices."},
    {
        "name": "consultations",
        "description": "Dermatologist directory, consultation requests and the shareable report.",
    },
    {"name": "health", "description": "Liveness and readiness for load balancers (outside /api/v1)."},
]


def _singular(word: str) -> str:
    return word[:-1] if word.endswith("s") else word


def operation_id(route: APIRoute) -> str:
    """`<tag>-<action>`: the route's most specific tag, then its function name without the
    tag's noun (`create_scan` under `scans` → `scans-create`)."""
    tag = str(route.tags[-1]) if route.tags else "default"
    nouns = {tag, _singular(tag)}
    words = [word for word in route.name.split("_") if word and word not in nouns]
    action = "-".join(words) or sorted(route.methods or {"get"})[0].lower()
    return f"{tag}-{action}"


def _walk(node: Any, parent_key: str = "") -> None:
    """Formats by name: `*_at` → date-time, on plain string properties."""
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict):
            for name, schema in properties.items():
                _set_format(name, schema)
        for key, value in node.items():
            _walk(value, key)
    elif isinstance(node, list):
        for item in node:
            _walk(item, parent_key)


def _set_format(name: str, schema: Any) -> None:
    # Only `*_at`: every one is a UTC ISO 8601 instant. `*_date` fields are not uniform
    # (`scan_date` holds an instant); real `date` fields get `format: date` from pydantic.
    if not name.endswith("_at") or not isinstance(schema, dict):
        return
    fmt = "date-time"
    candidates = schema.get("anyOf", [schema])
    for candidate in candidates:
        if isinstance(candidate, dict) and candidate.get("type") == "string" and "format" not in candidate:
            candidate["format"] = fmt


def _errors_as_json_envelope(document: dict[str, Any]) -> None:
    """FastAPI documents its own 422 shape, and gives a streaming route's errors the stream's
    media type; every error is in fact the JSON error envelope."""
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                schemas = [media.get("schema") for media in response.get("content", {}).values()]
                if status == "422" or envelope in schemas:
                    response["content"] = {"application/json": {"schema": envelope}}
    schemas = document.get("components", {}).get("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The document, built once per process and cached on the app."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=TAGS,
        )
        _walk(document.get("components", {}))
        _errors_as_json_envelope(document)
        app.openapi_schema = document
    return app.openapi_schema


def install_docs(app: FastAPI, *, prefix: str) -> None:
    """The OpenAPI document at `<prefix>/openapi.json`, Swagger UI at `/docs`, ReDoc at `/redoc`."""
    openapi_url = f"{prefix}/openapi.json"
    assets = f"{prefix}/docs/assets"
    oauth_redirect = f"{prefix}/docs/oauth2-redirect"
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    app.mount(assets, StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

    @app.get(openapi_url, include_in_schema=False)
    def openapi_document() -> dict[str, Any]:
        return build_openapi(app)

    @app.get(f"{prefix}/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — Swagger UI",
            oauth2_redirect_url=oauth_redirect,
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png",
            swagger_ui_parameters={"persistAuthorization": True},
        )

    @app.get(oauth_redirect, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(f"{prefix}/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} — ReDoc",
            redoc_js_url=f"{assets}/redoc.standalone.js",
            redoc_favicon_url=f"{assets}/favicon.png",
            with_google_fonts=False,
        )
