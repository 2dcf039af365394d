"""App factory and lifespan: settings → clients → tables ensured → workers started/stopped."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool

from app.api import health
from app.api.openapi import install_docs, operation_id
from app.api.router import api_router
from app.bootstrap import Container, build_container
from app.core.config import Settings, get_settings
from app.core.errors import install_error_handlers
from app.core.logging import configure_logging, log_startup
from app.core.middleware import BodySizeLimitMiddleware, ContentTypeMiddleware, RequestContextMiddleware
from app.core.telemetry import TelemetrySinks, install_telemetry
from app.db.dynamodb import prepare_tables, wait_for_dynamodb

logger = logging.getLogger("dermalens")

API_PREFIX = "/api/v1"


def create_app(
    settings: Settings | None = None,
    *,
    container: Container | None = None,
    telemetry_sinks: TelemetrySinks | None = None,
) -> FastAPI:
    """Build the ASGI app; `settings` defaults to the environment's."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, json_lines=settings.json_logs)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = container or build_container(settings)
        await run_in_threadpool(wait_for_dynamodb, built.dynamodb, timeout_seconds=30)
        # CREATE_TABLES=false: the tables belong to the CloudFormation stack, only checked here.
        created = await run_in_threadpool(prepare_tables, built.dynamodb, settings)
        if created:
            logger.info("created tables", extra={"tables": created})
        app.state.container = built
        if telemetry is not None:
            telemetry.observe_analysis(built.analysis_worker)
        await built.start()
        log_startup(settings, role="API", listen=f"http://{settings.host}:{settings.port}", container=built)
        try:
            yield
        finally:
            await built.stop()
            if telemetry is not None:
                telemetry.shutdown()
            logger.info("DermaLens API stopped")

    docs = settings.docs_enabled
    app = FastAPI(
        title="DermaLens API",
        version="1.0.0",
        description="Skin scans, locked four-week treatment plans, progress and an assistant.",
        lifespan=lifespan,
        # Served by install_docs from the app's own assets (no CDN), or not at all.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        generate_unique_id_function=operation_id,
    )
    if docs:
        install_docs(app, prefix=API_PREFIX)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(api_router, prefix=API_PREFIX)
    app.add_middleware(ContentTypeMiddleware, storage_prefix=f"{API_PREFIX}/storage/")
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_body_bytes=settings.max_request_body_bytes,
        max_json_bytes=settings.max_json_body_bytes,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials="*" not in settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
        )
    app.add_middleware(RequestContextMiddleware, hsts=settings.environment == "production")
    # Outermost, so its spans and timings cover the whole request; off: nothing is added.
    telemetry = install_telemetry(app, settings, sinks=telemetry_sinks)
    return app


def __getattr__(name: str) -> FastAPI:
    """`uvicorn app.main:app [--reload]` (the first edition's command): the app is built on
    first access, so importing this module reads no settings and writes nothing; later
    accesses get the same app (it is then a real module attribute)."""
    if name == "app":
        built = create_app()
        globals()["app"] = built
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
