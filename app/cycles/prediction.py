"""Pure cycle arithmetic: cycle lengths, next-period predictions, the phase of a day.

No I/O: the service loads the user's period logs and hands their start dates (and
durations) in. The method, its constants and the measurements behind them are in
docs/BENCHMARKS.md ("Cycle predictions"); bench/cycle_predictions.py re-measures them.

- A cycle is the gap between two logged starts. Gaps outside the user's usual range (a
  period left unlogged doubles a gap; spotting logged as a period halves one) are
  *outliers*: left out of every statistic.
- The next length is a recency-weighted mean of the last `RECENT_CYCLES` ordinary cycles
  (weights 1, 2, ..., n: a slowly drifting length is followed, a single odd month is not).
- The window is `z · spread · sqrt(k + k²/n)` days either side for the k-th next period:
  the k-th start adds k cycles of the user's own spread, plus the uncertainty of the mean.
"""

import math
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from statistics import median, stdev

from app.cycles.position import CyclePhase, CyclePosition

DEFAULT_CYCLE_DAYS = 28
DEFAULT_PERIOD_DAYS = 5
# Spread assumed until a user has enough cycles of their own (typical adult spread, days).
PRIOR_SPREAD_DAYS = 3.0
# No window is narrower than this many days either side (dates are whole days).
MIN_SPREAD_DAYS = 1.0
MIN_COMPLETE_CYCLES = 3
RECENT_CYCLES = 6
SPREAD_CYCLES = 12
# z of a ≈ 88 % two-sided normal window: the spread is estimated from a handful of cycles
# (so it runs low), and 1.55 is the smallest z that keeps irregular histories above 80 %
# inside on bench/cycle_predictions.py (1.44 fell to 79.7 %); whole days do the rest for
# regular ones (≈ 98 %).
WINDOW_Z = 1.55
# A gap further than this from the median (in robust standard deviations, and never
# closer than OUTLIER_MIN_DAYS) is an outlier.
OUTLIER_SIGMAS = 3.0
OUTLIER_MIN_DAYS = 7
PLAUSIBLE_CYCLE_DAYS = (15, 60)
LUTEAL_DAYS = 14
# Cycle days later than this multiple of the expected length are unknown (an unlogged period).
LATE_FACTOR = 1.6
PREDICTED_PERIODS = 3


@dataclass(frozen=True)
class CycleStats:
    """What a user's history says about their next cycle."""

    cycle_days: float
    spread_days: float
    cycles_used: int
    outliers: list[int]
    period_days: int

    @property
    def insufficient_history(self) -> bool:
        """Fewer than three ordinary complete cycles behind the figures."""
        return self.cycles_used < MIN_COMPLETE_CYCLES


@dataclass(frozen=True)
class PredictedPeriod:
    """One predicted start: the most likely day and a window around it."""

    start: date
    window_start: date
    window_end: date
    ovulation: date
    fertile_start: date
    fertile_end: date


def gaps(starts: list[date]) -> list[int]:
    """Days between consecutive starts (oldest first)."""
    ordered = sorted(starts)
    return [(b - a).days for a, b in pairwise(ordered)]


def split_outliers(lengths: list[int]) -> tuple[list[int], list[int]]:
    """(ordinary, outliers), each in the original order."""
    if not lengths:
        return [], []
    plausible = [x for x in lengths if PLAUSIBLE_CYCLE_DAYS[0] <= x <= PLAUSIBLE_CYCLE_DAYS[1]]
    centre = median(plausible or lengths)
    deviations = [abs(x - centre) for x in plausible] or [0.0]
    robust_sd = 1.4826 * median(deviations)
    limit = max(OUTLIER_MIN_DAYS, OUTLIER_SIGMAS * robust_sd)
    ordinary = [x for x in lengths if x in plausible and abs(x - centre) <= limit]
    outliers = [x for x in lengths if not (x in plausible and abs(x - centre) <= limit)]
    return ordinary, outliers


def cycle_stats(starts: list[date], durations: list[int] | None = None) -> CycleStats:
    """Expected length and spread from the logged starts (and logged period durations)."""
    ordinary, outliers = split_outliers(gaps(starts))
    recent = ordinary[-RECENT_CYCLES:]
    if recent:
        weights = range(1, len(recent) + 1)
        length = sum(w * x for w, x in zip(weights, recent, strict=True)) / sum(weights)
    else:
        length = float(DEFAULT_CYCLE_DAYS)
    for_spread = ordinary[-SPREAD_CYCLES:]
    own = stdev(for_spread) if len(for_spread) >= 2 else PRIOR_SPREAD_DAYS
    if len(for_spread) < MIN_COMPLETE_CYCLES:
        # Two cycles say little about a spread: never claim more certainty than a typical user.
        own = max(own, PRIOR_SPREAD_DAYS)
    known = [d for d in durations or [] if d > 0]
    return CycleStats(
        cycle_days=length,
        spread_days=max(own, MIN_SPREAD_DAYS),
        cycles_used=len(ordinary),
        outliers=outliers,
        period_days=round(median(known)) if known else DEFAULT_PERIOD_DAYS,
    )


def half_window(stats: CycleStats, k: int) -> int:
    """Days either side of the k-th (1-based) next predicted start."""
    n = max(stats.cycles_used, 1)
    return math.ceil(WINDOW_Z * stats.spread_days * math.sqrt(k + k * k / n))


def ovulation_of(next_start: date) -> date:
    """Estimated ovulation: a luteal phase of LUTEAL_DAYS before the next start."""
    return next_start - timedelta(days=LUTEAL_DAYS)


def predict(*, starts: list[date], durations: list[int] | None, today: date) -> list[PredictedPeriod]:
    """The next PREDICTED_PERIODS periods whose window has not passed yet (empty without logs)."""
    if not starts:
        return []
    stats = cycle_stats(starts, durations)
    last = max(starts)
    found: list[PredictedPeriod] = []
    k = 0
    # A late or unlogged period: skip predictions whose whole window is already over.
    while len(found) < PREDICTED_PERIODS and k < 60:
        k += 1
        start = last + timedelta(days=round(k * stats.cycle_days))
        half = half_window(stats, k)
        if start + timedelta(days=half) < today:
            continue
        ovulation = ovulation_of(start)
        found.append(
            PredictedPeriod(
                start=start,
                window_start=start - timedelta(days=half),
                window_end=start + timedelta(days=half),
                ovulation=ovulation,
                fertile_start=ovulation - timedelta(days=5),
                fertile_end=ovulation + timedelta(days=1),
            )
        )
    return found


def phase_of(*, cycle_day: int, cycle_days: int, period_days: int) -> CyclePhase:
    """The phase of a cycle day, given the cycle's length and its period's duration.

    menstrual: days 1..period_days; ovulation: the estimated ovulation day (length - 14)
    and a day either side; follicular between them; luteal from the day after until the end.
    """
    if cycle_day <= period_days:
        return CyclePhase.MENSTRUAL
    ovulation = max(cycle_days - LUTEAL_DAYS, period_days + 1)
    if cycle_day < ovulation - 1:
        return CyclePhase.FOLLICULAR
    if cycle_day <= ovulation + 1:
        return CyclePhase.OVULATION
    return CyclePhase.LUTEAL


@dataclass(frozen=True)
class LoggedPeriod:
    """What position arithmetic needs of a period log."""

    start: date
    end: date | None


class CycleHistory:
    """A user's period logs, read once: statistics, predictions and the position of any day."""

    def __init__(self, periods: list[LoggedPeriod]) -> None:
        self.periods = sorted(periods, key=lambda p: p.start)
        self.starts = [p.start for p in self.periods]
        self.stats = cycle_stats(self.starts, [(p.end - p.start).days + 1 for p in self.periods if p.end])
        self._ordinary = set(split_outliers(gaps(self.starts))[0])

    def predict(self, *, today: date) -> list[PredictedPeriod]:
        """The next periods (see `predict`)."""
        return predict(
            starts=self.starts,
            durations=[(p.end - p.start).days + 1 for p in self.periods if p.end],
            today=today,
        )

    def position(self, on: date) -> CyclePosition | None:
        """Cycle day and phase of `on`; None before the first log or deep into an unlogged gap."""
        index = bisect_right(self.starts, on) - 1
        if index < 0:
            return None
        current = self.periods[index]
        following = self.periods[index + 1] if index + 1 < len(self.periods) else None
        expected = round(self.stats.cycle_days)
        day = (on - current.start).days + 1
        length = (following.start - current.start).days if following else expected
        if following and length not in self._ordinary and self.stats.cycles_used:
            # An outlier gap (most likely an unlogged period): only its usual first part is known.
            length = expected
            if day > expected:
                return None
        if not following and day > LATE_FACTOR * expected:
            return None
        period_days = (current.end - current.start).days + 1 if current.end else self.stats.period_days
        return CyclePosition(
            cycle_day=day, phase=phase_of(cycle_day=day, cycle_days=length, period_days=period_days)
        )
