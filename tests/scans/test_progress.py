"""Progress math without HTTP: per-metric series, change since the first scan, weekly trend,
and the score deltas a finished scan carries."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.security import iso
from app.core.vocabulary import METRICS_WITH_OVERALL
from app.providers.vision.noise import within_noise
from app.scans.progress import (
    STABLE_SLOPE,
    ProgressPoint,
    metric_progress,
    progress,
    slope_per_week,
)
from app.scans.worker import delta_against, score_changes
from tests.factories import scan_record

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def weekly_scans(values: list[float], *, metric: str = "redness", every: timedelta = timedelta(weeks=1)):
    """Completed scans `every` apart, oldest first, with the given scores for `metric`."""
    return [
        scan_record(
            user_id="u",
            status="completed",
            created=START + index * every,
            scores={metric: value, "overall": 50.0},
        )
        for index, value in enumerate(values)
    ]


def points(values: list[float], every: timedelta = timedelta(weeks=1)) -> list[ProgressPoint]:
    return [
        ProgressPoint(scan_id=str(i), scan_date=iso(START + i * every), value=v) for i, v in enumerate(values)
    ]


def test_series_keeps_scan_order_and_reports_first_latest_and_change() -> None:
    scans = weekly_scans([40.0, 47.5, 52.25])
    result = metric_progress(scans, "redness")
    assert [p.scan_id for p in result.points] == [s.scan_id for s in scans]
    assert [p.value for p in result.points] == [40.0, 47.5, 52.25]
    assert [p.scan_date for p in result.points] == [s.scan_date for s in scans]
    assert result.first == 40.0
    assert result.latest == 52.25
    assert result.change_since_first == 12.2  # rounded to one decimal
    assert result.trend == "improving"


def test_scans_without_the_metric_are_left_out_of_its_series() -> None:
    scans = weekly_scans([40.0, 60.0])
    scans.insert(
        1, scan_record(user_id="u", status="completed", created=START + timedelta(days=3), scores=None)
    )
    scans.append(
        scan_record(user_id="u", status="completed", created=START + timedelta(weeks=3), scores={"acne": 1.0})
    )
    result = metric_progress(scans, "redness")
    assert [p.value for p in result.points] == [40.0, 60.0]


@pytest.mark.parametrize(
    ("values", "trend", "slope"),
    [
        ([50.0, 60.0], "improving", 10.0),
        ([60.0, 50.0], "worsening", -10.0),
        ([50.0, 50.2, 50.4], "stable", 0.2),
        ([50.0, 50.5], "improving", 0.5),  # the threshold itself is no longer stable
        ([50.0, 49.5], "worsening", -0.5),
    ],
)
def test_trend_follows_the_weekly_slope(values: list[float], trend: str, slope: float) -> None:
    result = metric_progress(weekly_scans(values), "redness")
    assert result.trend == trend
    assert result.slope_per_week == slope


def test_slope_is_per_week_whatever_the_spacing() -> None:
    # +2 points a day is +14 a week.
    assert slope_per_week(points([50.0, 52.0, 54.0], every=timedelta(days=1))) == pytest.approx(14.0)
    assert slope_per_week(points([50.0, 64.0], every=timedelta(weeks=1))) == pytest.approx(14.0)


@pytest.mark.parametrize("values", [[], [55.0]])
def test_fewer_than_two_scans_is_insufficient_data(values: list[float]) -> None:
    result = metric_progress(weekly_scans(values), "redness")
    assert result.trend == "insufficient_data"
    assert result.slope_per_week is None
    if values:
        assert result.first == result.latest == 55.0
        assert result.change_since_first == 0.0
    else:
        assert result.first is None
        assert result.latest is None
        assert result.change_since_first is None


def test_scans_at_one_instant_have_no_trend() -> None:
    same_time = weekly_scans([40.0, 80.0], every=timedelta(0))
    result = metric_progress(same_time, "redness")
    assert result.trend == "insufficient_data"
    assert result.slope_per_week is None
    assert result.change_since_first == 40.0


def test_progress_covers_every_metric_or_the_one_asked_for() -> None:
    scans = weekly_scans([40.0, 60.0])
    assert [m.metric for m in progress(scans, None)] == list(METRICS_WITH_OVERALL)
    assert [m.metric for m in progress(scans, "redness")] == ["redness"]
    by_metric = {m.metric: m for m in progress(scans, None)}
    assert by_metric["overall"].trend == "stable"  # 50 → 50
    assert by_metric["acne"].points == []
    assert by_metric["acne"].trend == "insufficient_data"


values_strategy = st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), min_size=2, max_size=12)


@given(values=values_strategy, offset=st.floats(min_value=-50, max_value=50, allow_nan=False))
def test_shifting_every_score_keeps_slope_and_trend(values: list[float], offset: float) -> None:
    original = slope_per_week(points(values))
    shifted = slope_per_week(points([v + offset for v in values]))
    assert original is not None
    assert shifted is not None
    assert shifted == pytest.approx(original, abs=1e-6)


@given(values=values_strategy)
def test_mirrored_scores_mirror_the_trend(values: list[float]) -> None:
    up = metric_progress(weekly_scans(values), "redness")
    down = metric_progress(weekly_scans([100 - v for v in values]), "redness")
    assert up.slope_per_week is not None
    assert down.slope_per_week is not None
    assert down.slope_per_week == pytest.approx(-up.slope_per_week, abs=0.011)
    mirrored = {"improving": "worsening", "worsening": "improving", "stable": "stable"}
    if abs(abs(up.slope_per_week) - STABLE_SLOPE) > 0.01:  # away from the rounding edge
        assert down.trend == mirrored[up.trend]


@given(values=values_strategy)
def test_change_since_first_is_latest_minus_first(values: list[float]) -> None:
    result = metric_progress(weekly_scans(values), "redness")
    assert result.change_since_first == round(values[-1] - values[0], 1)
    assert result.trend in {"improving", "worsening", "stable"}


def test_linear_series_slope_is_exact() -> None:
    assert slope_per_week(points([10.0, 13.0, 16.0, 19.0])) == pytest.approx(3.0)


# ---- deltas a finished scan carries ----


def test_score_changes_are_current_minus_reference_for_shared_metrics() -> None:
    changes = score_changes(
        {"acne": 60.04, "redness": 50.0, "overall": 55.0, "glow": 99.0},
        {"acne": 50.0, "redness": 52.26, "hydration": 40.0, "overall": 55.0, "glow": 1.0},
    )
    # Positive = healthier; metrics only one side has (and unknown names) are left out.
    assert changes == {"acne": 10.0, "redness": -2.3, "overall": 0.0}


def test_delta_against_names_the_reference_scan() -> None:
    reference = scan_record(user_id="u", status="completed", created=START, scores={"acne": 40.0})
    delta = delta_against(reference, {"acne": 45.5, "redness": 50.0})
    assert delta is not None
    assert (delta.scan_id, delta.scan_date) == (reference.scan_id, reference.scan_date)
    assert delta.changes == {"acne": 5.5}
    # Each change says whether it is larger than photo-to-photo noise for its metric at these readings.
    assert delta.within_noise == {"acne": within_noise("acne", 5.5, 45.5, 40.0)}


@pytest.mark.parametrize("scores", [None, {}])
def test_no_delta_without_a_scored_reference(scores: dict | None) -> None:
    assert delta_against(None, {"acne": 45.0}) is None
    reference = scan_record(user_id="u", status="completed", created=START, scores=scores)
    assert delta_against(reference, {"acne": 45.0}) is None
