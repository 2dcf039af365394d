"""Time and size of the consultation report: `python bench/consultation_report.py [--runs N]`.

Renders reports straight through `render_report` (no HTTP, no DynamoDB): a 30-scan score
history for the chart and 1, 3 or 6 shared scans, each with three 1024-px photos and an
overlay (scikit-image's astronaut portrait, public domain), as the service would pass them.
"""

import argparse
import io
import statistics
import time
from datetime import UTC, datetime, timedelta

import numpy as np
from PIL import Image
from skimage import data

from app.consultations.chart import scores_chart_png
from app.consultations.report import ReportData, ReportPlan, ReportReaction, ReportScan, render_report
from app.core.vocabulary import METRICS_WITH_OVERALL


def photo(index: int) -> bytes:
    """A distinct photo per call (a slightly different exposure), so no two are the same bytes."""
    pixels = np.asarray(Image.fromarray(data.astronaut()).resize((1024, 1024)), dtype=np.float32)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels * (0.9 + 0.01 * index), 0, 255).astype(np.uint8)).save(
        buffer, format="JPEG", quality=92
    )
    return buffer.getvalue()


def sample(shared: int) -> ReportData:
    start = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    rng = np.random.default_rng(7)
    times = [start + timedelta(days=3 * i) for i in range(30)]
    series = {
        m: [(t, float(np.clip(60 + i * 0.6 + rng.normal(0, 4), 0, 100))) for i, t in enumerate(times)]
        for m in METRICS_WITH_OVERALL
    }
    scans = [
        ReportScan(
            scan_id=f"scan{i}",
            taken_at=times[-1 - i],
            scores={m: series[m][-1 - i][1] for m in METRICS_WITH_OVERALL},
            photos={angle: photo(4 * i + k) for k, angle in enumerate(("front", "left", "right"))},
            overlay=photo(4 * i + 3),
        )
        for i in range(shared)
    ]
    plan = ReportPlan(
        plan_id="plan",
        status="active",
        start_date="2026-11-10",
        lock_until="2026-12-08T08:00:00Z",
        days_elapsed=21,
        am_steps=["cleanser", "niacinamide serum", "moisturiser", "sunscreen SPF 50"],
        pm_steps=["cleanser", "tonight's active", "moisturiser"],
        night_actives=["retinol 0.25%", "azelaic acid 10%"],
        am_percent=85.7,
        pm_percent=71.4,
        streak_days=4,
        checkins=20,
        days_tracked=21,
    )
    return ReportData(
        consultation_id="01BENCH",
        generated_at=times[-1],
        expires_at=times[-1] + timedelta(days=14),
        patient_name="Bench Patient",
        patient_email="bench@example.com",
        skin_type="combination",
        sensitivities=["fragrance"],
        pregnant_or_breastfeeding=False,
        dermatologist_name="Dr Amara Okafor",
        reason="Redness and stinging after starting retinol",
        series=series,
        scans=scans,
        plan=plan,
        reactions=[
            ReportReaction(
                date="2026-11-20", severity="moderate", description="Stinging", suspected_products=["retinol"]
            )
        ],
    )


def timed(work, runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), max(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    render_report(sample(1))  # imports, fonts, matplotlib's font cache
    series = sample(0).series
    median, worst = timed(lambda: scores_chart_png(series, highlight=[]), args.runs)
    print(f"chart only (30 scans x 11 metrics): median {median * 1000:.0f} ms, max {worst * 1000:.0f} ms")
    print("| shared scans | pages | PDF size | median render | max render |")
    print("|---|---|---|---|---|")
    for shared in (1, 3, 6):
        report = sample(shared)
        result = render_report(report)
        median, worst = timed(lambda report=report: render_report(report), args.runs)
        print(
            f"| {shared} | {result.pages} | {len(result.pdf) / 1e6:.2f} MB | {median * 1000:.0f} ms | {worst * 1000:.0f} ms |"
        )


if __name__ == "__main__":
    main()
