"""OpenTelemetry (OTEL_ENABLED): traces and metrics over OTLP/HTTP to the AWS Distro for
OpenTelemetry collector, which forwards them to X-Ray and CloudWatch.

Per route (from FastAPI's instrumentation): request count, latency and error rate are the
`http.server.duration` histogram by `http.route` and `http.status_code`. Ours: the analysis
backlog (`dermalens.analysis.queue.depth`) and the age of the oldest queued scan
(`dermalens.analysis.queue.oldest_age`), read from the job markers when the metrics are
exported. When off, nothing here is imported and no middleware is added.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from app.core.config import Settings

if TYPE_CHECKING:
    from app.scans.worker import AnalysisWorker

logger = logging.getLogger("dermalens.telemetry")

# Probes and docs would drown the routes that matter.
EXCLUDED_URLS = "/health,/health/ready,/api/v1/docs,/api/v1/redoc,/api/v1/openapi.json"


@dataclass
class TelemetrySinks:
    """Where telemetry goes instead of OTLP (tests: in-memory reader and exporter)."""

    metric_reader: Any = None
    span_exporter: Any = None


class Telemetry:
    """The providers of one app; `observe_analysis` adds the backlog gauges once workers exist."""

    def __init__(self, *, meter_provider: Any, tracer_provider: Any) -> None:
        self.meter_provider = meter_provider
        self.tracer_provider = tracer_provider
        self._meter = meter_provider.get_meter("dermalens")

    def observe_analysis(self, worker: "AnalysisWorker") -> None:
        """Gauges of the analysis backlog, read when the metrics are collected."""
        from opentelemetry.metrics import CallbackOptions, Observation

        latest: dict[str, float] = {}

        def depth(_: CallbackOptions) -> Iterable[Observation]:
            try:
                count, oldest = worker.backlog()
            except Exception:  # noqa: BLE001 - a failed read skips one data point, never the export
                logger.warning("could not read the analysis backlog for metrics")
                return []
            latest["oldest"] = oldest or 0.0
            return [Observation(count, {"queue": worker.queue_name})]

        def oldest_age(_: CallbackOptions) -> Iterable[Observation]:
            # Read in the same collection as `depth` (registered first), so one query serves both.
            return [Observation(latest.get("oldest", 0.0), {"queue": worker.queue_name})]

        self._meter.create_observable_gauge(
            "dermalens.analysis.queue.depth",
            callbacks=[depth],
            unit="{scan}",
            description="Scans queued or processing",
        )
        self._meter.create_observable_gauge(
            "dermalens.analysis.queue.oldest_age",
            callbacks=[oldest_age],
            unit="s",
            description="Age of the oldest scan waiting for (or in) analysis",
        )

    def shutdown(self) -> None:
        """Flush what is buffered and stop the exporters."""
        self.meter_provider.shutdown()
        self.tracer_provider.shutdown()


def install_telemetry(
    app: FastAPI, settings: Settings, *, sinks: TelemetrySinks | None = None
) -> Telemetry | None:
    """Instrument the app when OTEL_ENABLED; None (and nothing imported or added) when off."""
    if not settings.otel_enabled:
        return None
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    sinks = sinks or TelemetrySinks()
    base = settings.otel_exporter_otlp_endpoint.rstrip("/")
    resource = Resource.create(
        {"service.name": settings.otel_service_name, "deployment.environment": settings.environment}
    )
    reader = sinks.metric_reader or PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{base}/v1/metrics"),
        export_interval_millis=settings.otel_metric_export_seconds * 1000,
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(sinks.span_exporter or OTLPSpanExporter(endpoint=f"{base}/v1/traces"))
    )
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=tracer_provider, meter_provider=meter_provider, excluded_urls=EXCLUDED_URLS
    )
    logger.info("OpenTelemetry on", extra={"otlp_endpoint": base, "service": settings.otel_service_name})
    return Telemetry(meter_provider=meter_provider, tracer_provider=tracer_provider)
