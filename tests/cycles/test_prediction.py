"""Prediction and phase arithmetic on known histories (pure, no DynamoDB)."""

import random
from datetime import date, timedelta

import pytest

from app.cycles.position import CyclePhase
from app.cycles.prediction import (
    CycleHistory,
    LoggedPeriod,
    cycle_stats,
    phase_of,
    predict,
    split_outliers,
)

START = date(2026, 1, 5)


def starts_from(lengths: list[int], first: date = START) -> list[date]:
    out = [first]
    for length in lengths:
        out.append(out[-1] + timedelta(days=length))
    return out


def test_regular_history_predicts_the_next_start_to_the_day_with_a_narrow_window() -> None:
    starts = starts_from([28] * 8)
    (first, second, third) = predict(starts=starts, durations=None, today=starts[-1] + timedelta(days=1))
    assert first.start == starts[-1] + timedelta(days=28)
    assert second.start == starts[-1] + timedelta(days=56)
    assert third.start == starts[-1] + timedelta(days=84)
    # Spread floors at one day: ±2 days for the next one, wider further out.
    assert (first.window_end - first.window_start).days == 4
    assert (third.window_end - third.window_start).days > (first.window_end - first.window_start).days
    # Ovulation estimate: 14 days before the start; fertile window the 5 days before it and the day after.
    assert first.ovulation == first.start - timedelta(days=14)
    assert (first.fertile_start, first.fertile_end) == (
        first.ovulation - timedelta(days=5),
        first.ovulation + timedelta(days=1),
    )


def test_irregular_history_gets_a_window_from_its_own_spread() -> None:
    rng = random.Random(3)
    lengths = [round(rng.gauss(30, 5)) for _ in range(10)]
    stats = cycle_stats(starts_from(lengths))
    assert 3.0 < stats.spread_days < 8.0
    regular = cycle_stats(starts_from([30] * 10))
    nxt = predict(starts=starts_from(lengths), durations=None, today=START)[0]
    reg = predict(starts=starts_from([30] * 10), durations=None, today=START)[0]
    assert (nxt.window_end - nxt.window_start).days > 3 * (reg.window_end - reg.window_start).days
    assert regular.spread_days == 1.0


def test_under_three_complete_cycles_is_insufficient_history_with_a_cautious_window() -> None:
    starts = starts_from([27, 27])
    stats = cycle_stats(starts)
    assert stats.insufficient_history
    assert stats.spread_days >= 3.0  # two equal cycles prove no regularity
    nxt = predict(starts=starts, durations=None, today=starts[-1])[0]
    assert nxt.start == starts[-1] + timedelta(days=27)
    assert (nxt.window_end - nxt.window_start).days >= 10


def test_a_single_logged_period_predicts_from_the_typical_cycle() -> None:
    (nxt, *_rest) = predict(starts=[START], durations=None, today=START)
    assert nxt.start == START + timedelta(days=28)
    assert cycle_stats([START]).insufficient_history


def test_no_logs_no_predictions() -> None:
    assert predict(starts=[], durations=None, today=START) == []


def test_a_missed_period_is_left_out_of_the_length_and_spread() -> None:
    lengths = [29, 28, 29, 57, 28, 29]  # the 57 is two cycles with one period unlogged
    ordinary, outliers = split_outliers(lengths)
    assert outliers == [57]
    assert ordinary == [29, 28, 29, 28, 29]
    stats = cycle_stats(starts_from(lengths))
    assert 28 <= stats.cycle_days <= 29
    assert stats.spread_days < 1.5
    assert stats.cycles_used == 5


def test_spotting_logged_as_a_period_is_an_outlier_too() -> None:
    _, outliers = split_outliers([30, 31, 9, 21, 30, 29])
    assert 9 in outliers


def test_a_late_period_moves_predictions_past_today() -> None:
    starts = starts_from([28] * 6)
    today = starts[-1] + timedelta(days=40)  # the expected period never got logged
    found = predict(starts=starts, durations=None, today=today)
    assert len(found) == 3
    assert all(p.window_end >= today for p in found)


@pytest.mark.parametrize(
    ("day", "phase"),
    [
        (1, CyclePhase.MENSTRUAL),
        (5, CyclePhase.MENSTRUAL),
        (6, CyclePhase.FOLLICULAR),
        (12, CyclePhase.FOLLICULAR),
        (13, CyclePhase.OVULATION),  # ovulation = 28 - 14 = day 14, ± 1
        (14, CyclePhase.OVULATION),
        (15, CyclePhase.OVULATION),
        (16, CyclePhase.LUTEAL),
        (28, CyclePhase.LUTEAL),
    ],
)
def test_phase_boundaries_of_a_28_day_cycle_with_a_5_day_period(day: int, phase: CyclePhase) -> None:
    assert phase_of(cycle_day=day, cycle_days=28, period_days=5) == phase


def test_phase_boundaries_follow_the_cycle_length() -> None:
    # A 35-day cycle ovulates around day 21: day 16 is still follicular, day 23 luteal.
    assert phase_of(cycle_day=16, cycle_days=35, period_days=5) == CyclePhase.FOLLICULAR
    assert phase_of(cycle_day=21, cycle_days=35, period_days=5) == CyclePhase.OVULATION
    assert phase_of(cycle_day=23, cycle_days=35, period_days=5) == CyclePhase.LUTEAL


def test_position_uses_the_logged_period_length_and_the_actual_cycle_length() -> None:
    history = CycleHistory(
        [
            LoggedPeriod(START, START + timedelta(days=6)),  # a 7-day period
            LoggedPeriod(START + timedelta(days=32), None),
        ]
    )
    assert history.position(START - timedelta(days=1)) is None
    day7 = history.position(START + timedelta(days=6))
    assert day7 is not None
    assert (day7.cycle_day, day7.phase) == (7, CyclePhase.MENSTRUAL)
    assert history.position(START + timedelta(days=7)).phase == CyclePhase.FOLLICULAR  # type: ignore[union-attr]
    # The first cycle was 32 days: ovulation ≈ day 18.
    assert history.position(START + timedelta(days=17)).phase == CyclePhase.OVULATION  # type: ignore[union-attr]
    second = history.position(START + timedelta(days=33))
    assert second is not None
    assert (second.cycle_day, second.phase) == (2, CyclePhase.MENSTRUAL)


def test_position_is_unknown_deep_into_an_unlogged_gap() -> None:
    starts = starts_from([28] * 5)
    history = CycleHistory([LoggedPeriod(s, s + timedelta(days=4)) for s in starts])
    assert history.position(starts[-1] + timedelta(days=30)) is not None  # a little late: still luteal
    assert history.position(starts[-1] + timedelta(days=60)) is None
