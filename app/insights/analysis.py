"""Pure: a metric's average by cycle phase, and whether a phase's difference is real.

A phase's figure is *meaningful* only when
- it has at least `MIN_PER_GROUP` readings and the other phases together as many (never a
  claim from one or two scans), and
- Welch-style t = (phase mean - rest mean) / (s · √(1/n_phase + 1/n_rest)) clears the
  Student-t critical value at alpha = 5 % split over every comparison in the answer
  (Bonferroni), where s is the pooled within-phase spread, never taken below the
  metric's one-reading noise (photo-to-photo noise for scans: a run of lucky photos
  cannot look like a cycle effect).
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist, fmean

from app.cycles.position import CyclePhase, Observation

MIN_PER_GROUP = 3
ALPHA = 0.05
PHASES: tuple[CyclePhase, ...] = tuple(CyclePhase)


@dataclass(frozen=True)
class PhaseFigure:
    phase: CyclePhase
    count: int
    average: float | None
    difference: float | None
    meaningful: bool
    note: str


@dataclass(frozen=True)
class MetricFigures:
    metric: str
    count: int
    overall_average: float
    noise: float
    phases: list[PhaseFigure]


def t_quantile(p: float, df: int) -> float:
    """Student-t quantile by the Cornish-Fisher expansion (A&S 26.7.5); within 1 % for df ≥ 4."""
    z = NormalDist().inv_cdf(p)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def figures(
    readings: Sequence[tuple[Observation, CyclePhase]],
    *,
    noise: Callable[[str, Sequence[float]], float],
    comparisons: int,
) -> list[MetricFigures]:
    """Per metric (in first-seen order): overall average, and per phase the average,
    difference from the overall average, count and whether it is meaningful."""
    by_metric: dict[str, dict[CyclePhase, list[float]]] = {}
    for observation, phase in readings:
        by_metric.setdefault(observation.metric, {}).setdefault(phase, []).append(observation.value)
    result = []
    for metric, groups in by_metric.items():
        values = [v for vs in groups.values() for v in vs]
        overall = fmean(values)
        floor = noise(metric, values)
        spread = max(_pooled_sd(groups), floor)
        df = len(values) - len(groups)
        critical = t_quantile(1 - ALPHA / (2 * max(comparisons, 1)), max(df, 1))
        phases = []
        for phase in PHASES:
            mine = groups.get(phase, [])
            rest = [v for p, vs in groups.items() if p != phase for v in vs]
            if not mine:
                phases.append(PhaseFigure(phase, 0, None, None, False, "no readings in this phase yet"))
                continue
            average = fmean(mine)
            difference = average - overall
            if len(mine) < MIN_PER_GROUP or len(rest) < MIN_PER_GROUP or df < 4:
                note = f"too few readings to say (needs {MIN_PER_GROUP} in this phase and in the others)"
                phases.append(
                    PhaseFigure(phase, len(mine), round(average, 1), round(difference, 1), False, note)
                )
                continue
            standard_error = spread * math.sqrt(1 / len(mine) + 1 / len(rest))
            t = (average - fmean(rest)) / standard_error
            meaningful = abs(t) >= critical
            note = (
                "larger than photo noise and chance explain"
                if meaningful
                else "within what photo noise and chance explain: no real difference shown"
            )
            phases.append(
                PhaseFigure(phase, len(mine), round(average, 1), round(difference, 1), meaningful, note)
            )
        result.append(
            MetricFigures(
                metric=metric,
                count=len(values),
                overall_average=round(overall, 1),
                noise=round(floor, 2),
                phases=phases,
            )
        )
    return result


def _pooled_sd(groups: dict[CyclePhase, list[float]]) -> float:
    """Within-phase spread pooled over the phases (0 when no phase has two readings)."""
    squares = 0.0
    df = 0
    for values in groups.values():
        if len(values) >= 2:
            mean = fmean(values)
            squares += sum((v - mean) ** 2 for v in values)
            df += len(values) - 1
    return math.sqrt(squares / df) if df else 0.0


def finding(metric: str, figure: PhaseFigure, unit: str) -> str:
    """One plain sentence for a meaningful figure, e.g. 'acne score 9 points lower in your luteal phase (6 scans)'."""
    assert figure.difference is not None
    direction = "lower" if figure.difference < 0 else "higher"
    points = abs(figure.difference)
    amount = f"{points:.0f} points" if points >= 1.5 else f"{points:.1f} points"
    return f"{metric.replace('_', ' ')} score {amount} {direction} in your {figure.phase.value} phase ({figure.count} {unit})"
