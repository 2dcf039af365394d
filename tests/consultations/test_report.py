"""The shared report as the dermatologist gets it: a real PDF, turned into pictures and text.

The report is made over HTTP from real analysed photos, fetched through its link without a
token, rasterised with pdftoppm and read back with pdftotext: the user's own numbers must
be in it, and the chart page must carry a drawn chart where the chart goes.
"""

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.consultations.report import ReportData, ReportScan, render_report
from tests.consultations.helpers import request_consultation
from tests.images import face_jpeg

SAMPLE_DIR = Path("/tmp/dermalens-consultation-report")
DPI = 60

pytestmark = pytest.mark.skipif(
    not (shutil.which("pdftoppm") and shutil.which("pdftotext")), reason="poppler-utils is not installed"
)


@pytest.fixture(scope="module")
def report(
    client: TestClient, patient: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """One consultation sharing both scans, its PDF fetched through the link, and its pages as PNG."""
    scan_ids = [s["scan_id"] for s in patient["scans"]]
    consultation = request_consultation(
        client, patient, scan_ids=scan_ids, reason="Redness after retinoid & <swelling>"
    )
    response = client.get(consultation["report"]["url"])  # no Authorization header: the doctor's view
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    folder = tmp_path_factory.mktemp("report")
    pdf = folder / "report.pdf"
    pdf.write_bytes(response.content)
    subprocess.run(
        ["pdftoppm", "-r", str(DPI), "-png", str(pdf), str(folder / "page")], check=True, timeout=60
    )
    pages = sorted(folder.glob("page-*.png"))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    # Leave a copy to look at (the brief's sample PNGs).
    shutil.rmtree(SAMPLE_DIR, ignore_errors=True)
    SAMPLE_DIR.mkdir(parents=True)
    for page in pages:
        shutil.copy(page, SAMPLE_DIR / page.name)
    shutil.copy(pdf, SAMPLE_DIR / "report.pdf")
    return {"consultation": consultation, "pdf": pdf, "pages": pages, "text": text}


def test_the_report_has_a_page_per_part_and_its_page_count_is_recorded(report: dict[str, Any]) -> None:
    # Summary, chart, then one page per shared scan.
    assert len(report["pages"]) == 2 + 2
    assert report["consultation"]["report"]["pages"] == len(report["pages"])


def test_the_report_text_holds_the_users_own_numbers(
    report: dict[str, Any], patient: dict[str, Any], client: TestClient
) -> None:
    text = " ".join(report["text"].split())
    first, latest = (s["scores"] for s in patient["scans"])
    assert "Zoë Lindqvist" in text
    assert patient["email"] in text
    assert "Dr Amara Okafor" in text
    assert "Redness after retinoid & <swelling>" in text  # user text printed, not parsed as markup
    # Summary: first, latest and the change of the overall score.
    overall = (
        f"overall {first['overall']:.0f} {latest['overall']:.0f} {latest['overall'] - first['overall']:+.0f}"
    )
    assert overall in text
    # Each shared scan's page (oldest first) lists every score that scan has.
    pages = [" ".join(page.split()) for page in report["text"].split("\f")]
    for page, scores in zip(pages[2:4], (first, latest), strict=True):
        assert len(scores) >= 5, scores
        for metric, value in scores.items():
            assert f"{metric.replace('_', ' ')} {value:.0f}" in page, (metric, page)
    # The plan and its adherence as the plans API computes them.
    adherence = client.get(
        f"/api/v1/plans/{patient['plan']['plan_id']}/adherence", headers=patient["headers"]
    ).json()
    assert f"AM {adherence['am_percent']:.0f}%, PM {adherence['pm_percent']:.0f}%" in text
    assert patient["plan"]["start_date"] in text
    # The reaction from the check-in, with its severity and suspected product.
    assert "severe" in text
    assert "Burning and swelling <b>after</b> the retinoid" in text
    assert "retinoid serum" in text


def test_the_chart_page_has_a_drawn_chart_where_the_chart_goes(report: dict[str, Any]) -> None:
    chart = np.asarray(Image.open(report["pages"][1]).convert("RGB")).astype(int)
    height, width, _ = chart.shape
    # The chart sits below the heading, across the text width, in the upper half of an A4 page.
    area = chart[int(height * 0.08) : int(height * 0.45), int(width * 0.1) : int(width * 0.9)]
    ink = (area.min(axis=2) < 200).mean()
    colour = ((area.max(axis=2) - area.min(axis=2)) > 60).mean()
    assert ink > 0.02, f"the chart area is blank ({ink:.3%} drawn)"
    assert colour > 0.001, "no coloured metric lines in the chart"
    # The bottom of the page is empty paper: the measurement above is not just a grey page.
    bottom = chart[int(height * 0.8) : int(height * 0.93), int(width * 0.1) : int(width * 0.9)]
    assert (bottom.min(axis=2) < 200).mean() < 0.01


def test_the_scan_pages_show_the_photos(report: dict[str, Any]) -> None:
    for page in report["pages"][2:]:
        pixels = np.asarray(Image.open(page).convert("RGB")).astype(int)
        # A photo is many distinct colours; text and rules are a few greys.
        colours = len(np.unique(pixels.reshape(-1, 3) // 8, axis=0))
        assert colours > 500, f"{page.name}: no photo on the scan page"


def test_a_report_without_a_plan_or_reactions_says_so_and_prints_any_name(tmp_path: Path) -> None:
    moment = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
    data = ReportData(
        consultation_id="01ARZ3NDEKTSV4RRFFQ69G5FAV",
        generated_at=moment,
        expires_at=moment + timedelta(days=14),
        patient_name="Дарья Ковалёва",
        patient_email="daria@example.com",
        skin_type=None,
        sensitivities=[],
        pregnant_or_breastfeeding=True,
        dermatologist_name="Dr. Jonas Becker",
        reason="Itchy patches",
        series={"overall": [(moment, 71.0)], "acne": [(moment, 64.0)]},
        scans=[
            ReportScan(
                scan_id="s",
                taken_at=moment,
                scores={"overall": 71.0, "acne": 64.0},
                photos={"front": face_jpeg()},
            )
        ],
        plan=None,
    )
    rendered = render_report(data)
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(rendered.pdf)
    text = " ".join(
        subprocess.run(
            ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
        ).stdout.split()
    )
    assert rendered.pages == 3
    assert "Дарья Ковалёва" in text
    assert "No active plan." in text
    assert "None reported in plan check-ins." in text
    assert "Pregnant or breastfeeding yes" in text
    assert "overall 71 71 +0" in text
