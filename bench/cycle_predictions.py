"""How well next-period predictions land, on simulated histories, ours beside drip's method.

    python bench/cycle_predictions.py [--users 400] [--seed 12] [--markdown]

Simulated users (each 14 true cycles, lengths whole days):
- regular: a personal mean in 25-32 days, sd = 1 day;
- irregular: a personal mean in 26-34 days, sd = 5 days;
- drifting: sd = 1.5 days around a mean that moves 0.4 day per cycle (up or down);
- skipped logs: sd = 1.5 days, each period (after the first) left unlogged with p = 0.15.

For every user and every prefix of their *logged* history with at least 3 gaps (the
minimum both methods ask for), each method predicts the next start from that prefix alone,
and is scored against the next *true* start (it happened even if it was not logged): the
absolute error in days, and whether the truth fell inside the method's window.

drip (bloodyhealth/drip, lib/cycle.js `getPredictedMenses` and lib/cycle-length.js
`getCycleLengthStats`, read 2026-12): the mean of every logged gap of at most 99 days,
rounded; a window of ±1 day when the sample standard deviation is under 1.5, else ±2;
three predictions at the last start + k·mean. Re-implemented here from that description.

`--insight` adds a second table: how often the cycle insight (app/insights/analysis.py)
claims a phase effect for simulated users with none (false claims) and with a real luteal
acne effect of a given size (detection), for a given number of scans per phase.
"""

import argparse
import math
import random
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from statistics import fmean, stdev

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.cycles.position import CyclePhase, Observation
from app.cycles.prediction import predict
from app.insights.analysis import PHASES, figures
from app.insights.sources import scan_noise

START = date(2024, 1, 1)
CYCLES = 14


@dataclass
class Result:
    errors: list[int] = field(default_factory=list)
    inside: list[bool] = field(default_factory=list)
    widths: list[int] = field(default_factory=list)

    def add(self, error: int, inside: bool, width: int) -> None:
        self.errors.append(abs(error))
        self.inside.append(inside)
        self.widths.append(width)

    def row(self) -> tuple[float, float, float]:
        return fmean(self.errors), 100 * fmean(self.inside), fmean(self.widths)


def simulate(kind: str, rng: random.Random) -> tuple[list[date], list[date]]:
    """(true starts, logged starts) of one user."""
    if kind == "regular":
        mean, sd, drift, skip = rng.uniform(25, 32), 1.0, 0.0, 0.0
    elif kind == "irregular":
        mean, sd, drift, skip = rng.uniform(26, 34), 5.0, 0.0, 0.0
    elif kind == "drifting":
        mean, sd, drift, skip = rng.uniform(26, 31), 1.5, rng.choice([-0.4, 0.4]), 0.0
    else:
        mean, sd, drift, skip = rng.uniform(25, 32), 1.5, 0.0, 0.15
    starts = [START + timedelta(days=rng.randrange(28))]
    for i in range(CYCLES):
        length = min(50, max(18, round(rng.gauss(mean + drift * i, sd))))
        starts.append(starts[-1] + timedelta(days=length))
    logged = [starts[0]] + [s for s in starts[1:] if rng.random() >= skip]
    return starts, logged


def drip_predict(logged: list[date]) -> tuple[date, int] | None:
    """drip's next start and half-window, or None when it makes no prediction."""
    lengths = [(b - a).days for a, b in pairwise(logged)]
    lengths = [x for x in lengths if x <= 99]
    if len(lengths) < 3:
        return None
    mean = round(sum(lengths) / len(lengths) * 100) / 100
    distance = round(mean)
    sd = stdev(lengths) if len(lengths) > 1 else None
    variation = 2 if sd is None or sd >= 1.5 else 1
    if distance - 5 < variation:
        return None
    return logged[-1] + timedelta(days=distance), variation


def run(users: int, seed: int) -> dict[str, dict[str, Result]]:
    rng = random.Random(seed)
    table: dict[str, dict[str, Result]] = {}
    for kind in ("regular", "irregular", "drifting", "skipped logs"):
        ours, drip = Result(), Result()
        for _ in range(users):
            truth, logged = simulate(kind, rng)
            for n in range(4, len(logged)):
                prefix = logged[:n]
                nxt = next(s for s in truth if s > prefix[-1]) if prefix[-1] < truth[-1] else None
                if nxt is None:
                    continue
                ours_p = predict(starts=prefix, durations=None, today=prefix[-1] + timedelta(days=1))[0]
                ours.add(
                    (ours_p.start - nxt).days,
                    ours_p.window_start <= nxt <= ours_p.window_end,
                    (ours_p.window_end - ours_p.window_start).days + 1,
                )
                d = drip_predict(prefix)
                if d is not None:
                    start, half = d
                    drip.add((start - nxt).days, abs((start - nxt).days) <= half, 2 * half + 1)
        table[kind] = {"ours": ours, "drip": drip}
    return table


def render(table: dict[str, dict[str, Result]], markdown: bool) -> str:
    lines = []
    if markdown:
        lines.append(
            "| history | predictions | ours: MAE (d) | ours: inside window | ours: window (d) "
            "| drip: MAE (d) | drip: inside window | drip: window (d) |"
        )
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind, results in table.items():
        o, d = results["ours"].row(), results["drip"].row()
        count = len(results["ours"].errors)
        if markdown:
            lines.append(
                f"| {kind} | {count} | {o[0]:.2f} | {o[1]:.1f} % | {o[2]:.1f} "
                f"| {d[0]:.2f} | {d[1]:.1f} % | {d[2]:.1f} |"
            )
        else:
            lines.append(
                f"{kind:13} n={count:5}  ours MAE {o[0]:5.2f} d inside {o[1]:5.1f}% width {o[2]:4.1f}"
                f"   drip MAE {d[0]:5.2f} d inside {d[1]:5.1f}% width {d[2]:4.1f}"
            )
    return "\n".join(lines)


INSIGHT_METRICS = ("acne", "redness", "oiliness", "hydration", "pores", "texture", "overall")


def insight_rates(*, users: int, per_phase: int, effect: float, rng: random.Random) -> tuple[float, float]:
    """(% of users with any claim at all, % of users whose luteal acne drop was found)."""
    any_claim = found = 0
    for _ in range(users):
        readings = []
        for phase in PHASES:
            for i in range(per_phase):
                on = START + timedelta(days=28 * i)
                for metric in INSIGHT_METRICS:
                    # Photo noise (the metric's band) plus 2 points of day-to-day skin variation.
                    sd = math.hypot(scan_noise(metric), 2.0)
                    shift = effect if (metric == "acne" and phase == CyclePhase.LUTEAL) else 0.0
                    value = 60 + rng.gauss(0, sd) + shift
                    readings.append((Observation(on=on, metric=metric, value=value), phase))
        table = figures(readings, noise=scan_noise, comparisons=len(INSIGHT_METRICS) * len(PHASES))
        claims = [(m.metric, f.phase) for m in table for f in m.phases if f.meaningful]
        any_claim += bool(claims)
        found += ("acne", CyclePhase.LUTEAL) in claims
    return 100 * any_claim / users, 100 * found / users


def render_insight(users: int, seed: int) -> str:
    rng = random.Random(seed)
    lines = [
        "| scans per phase | no effect: users with any claim | luteal acne -5: found "
        "| -8: found | -12: found |",
        "|---:|---:|---:|---:|---:|",
    ]
    for per_phase in (2, 3, 5, 8):
        false_rate, _ = insight_rates(users=users, per_phase=per_phase, effect=0.0, rng=rng)
        found = [
            insight_rates(users=users, per_phase=per_phase, effect=e, rng=rng)[1] for e in (-5.0, -8.0, -12.0)
        ]
        lines.append(
            f"| {per_phase} | {false_rate:.1f} % | {found[0]:.0f} % | {found[1]:.0f} % | {found[2]:.0f} % |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--insight", action="store_true", help="also measure the cycle insight")
    args = parser.parse_args()
    print(render(run(args.users, args.seed), args.markdown))
    if args.insight:
        print()
        print(render_insight(args.users, args.seed))


if __name__ == "__main__":
    main()
