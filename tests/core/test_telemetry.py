"""OpenTelemetry: off by default with nothing installed; on, per-route request metrics and
spans, and the analysis backlog gauges, exported from a real app over real requests."""

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.core.security import new_id
from app.core.telemetry import TelemetrySinks
from app.main import create_app
from tests.conftest import PASSWORD, make_settings, unique_email
from tests.envfiles import ROOT
from tests.helpers import upload_scan
from tests.images import face_jpeg
from tests.processes import isolated_tables


def points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    """metric name → its data points, from one collection."""
    found: dict[str, list[Any]] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


def test_off_by_default_adds_no_middleware_and_loads_no_sdk(tmp_path: Path) -> None:
    app = create_app(make_settings("http://127.0.0.1:1", tmp_path))
    assert not any("OpenTelemetry" in middleware.cls.__name__ for middleware in app.user_middleware)
    probe = (
        "import sys; from app.main import create_app; from tests.conftest import make_settings; "
        "from pathlib import Path; create_app(make_settings('http://127.0.0.1:1', Path(sys.argv[1]))); "
        "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry.sdk', 'opentelemetry.instrumentation', "
        "'opentelemetry.exporter'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    # (The bare API package is imported by a dependency anyway; the SDK, the instrumentation
    # and the exporters are ours to load, and are not.)
    assert result.stdout.strip() == "[]"


def test_on_it_measures_each_route_and_the_analysis_backlog(dynamodb_endpoint: str, tmp_path: Path) -> None:
    reader, spans = InMemoryMetricReader(), InMemorySpanExporter()
    settings = make_settings(
        dynamodb_endpoint,
        tmp_path,
        otel_enabled=True,
        analysis_workers=0,  # scans stay queued: the backlog has something to show
        **isolated_tables(f"otel-{new_id().lower()}"),
    )
    app = create_app(settings, telemetry_sinks=TelemetrySinks(metric_reader=reader, span_exporter=spans))
    with TestClient(app) as client:
        body = client.post(
            "/api/v1/auth/register", json={"email": unique_email(), "password": PASSWORD}
        ).json()
        headers = {"Authorization": f"Bearer {body['tokens']['access_token']}"}
        for _ in range(3):
            assert client.get(f"/api/v1/scans/{new_id()}", headers=headers).status_code == 404
        upload_scan(client, headers, face_jpeg())  # queued, and no worker here to take it
        time.sleep(1.1)
        client.get("/health")  # excluded: probes would drown the routes
        measured = points(reader)
    # Stopping the app flushed the batched spans.
    finished = spans.get_finished_spans()

    durations = measured["http.server.duration"]
    by_route: dict[tuple[str, int], int] = {}
    for point in durations:
        # The route template, relative to the /api/v1 mount (FastAPI's nested routers).
        key = (point.attributes["http.target"], point.attributes["http.status_code"])
        by_route[key] = by_route.get(key, 0) + point.count
    assert by_route[("/scans/{scan_id}", 404)] == 3  # errors are counted per route and status
    assert by_route[("/auth/register", 201)] == 1
    assert not [route for route, _ in by_route if route.startswith("/health")]
    assert all(point.sum >= 0 for point in durations)

    assert [p.value for p in measured["dermalens.analysis.queue.depth"]] == [1]
    (age,) = [p.value for p in measured["dermalens.analysis.queue.oldest_age"]]
    assert 1.0 <= age < 60
    names = {span.name for span in finished}
    assert "GET /api/v1/scans/{scan_id}" in names
    assert "POST /api/v1/scans/upload" in names
    assert not [name for name in names if "/health" in name]
