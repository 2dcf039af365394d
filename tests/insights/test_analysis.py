"""The phase figures on simulated readings: a known effect is found, no effect gives no claim."""

import random
from datetime import date, timedelta

import pytest
from scipy import stats

from app.cycles.position import CyclePhase, Observation
from app.insights.analysis import PHASES, figures, finding, t_quantile
from app.insights.sources import scan_noise
from app.providers.vision.noise import band

PHASE_DAYS = {
    CyclePhase.MENSTRUAL: 3,
    CyclePhase.FOLLICULAR: 9,
    CyclePhase.OVULATION: 14,
    CyclePhase.LUTEAL: 23,
}


def readings(
    rng: random.Random, *, per_phase: dict[CyclePhase, int], effect: dict[CyclePhase, float], sd: float = 3.0
) -> list[tuple[Observation, CyclePhase]]:
    out = []
    for phase, count in per_phase.items():
        for i in range(count):
            on = date(2026, 1, 1) + timedelta(days=PHASE_DAYS[phase] + 28 * i)
            for metric, base in (("acne", 60.0), ("redness", 55.0), ("overall", 58.0)):
                value = base + rng.gauss(0, sd) + (effect.get(phase, 0.0) if metric == "acne" else 0.0)
                out.append((Observation(on=on, metric=metric, value=value), phase))
    return out


def acne_phase(table: list, phase: CyclePhase):
    metric = next(m for m in table if m.metric == "acne")
    return next(f for f in metric.phases if f.phase == phase)


def test_a_real_luteal_breakout_is_meaningful_and_said_plainly() -> None:
    rng = random.Random(1)
    data = readings(
        rng,
        per_phase={
            CyclePhase.MENSTRUAL: 4,
            CyclePhase.FOLLICULAR: 5,
            CyclePhase.OVULATION: 3,
            CyclePhase.LUTEAL: 6,
        },
        effect={CyclePhase.LUTEAL: -12.0},
    )
    table = figures(data, noise=scan_noise, comparisons=3 * 4)
    luteal = acne_phase(table, CyclePhase.LUTEAL)
    assert luteal.meaningful
    assert luteal.count == 6
    assert -11 < luteal.difference < -6  # 12 below the others = ≈ 8 below the overall average
    sentence = finding("acne", luteal, "scans")
    assert sentence.startswith("acne score ")
    assert sentence.endswith("lower in your luteal phase (6 scans)")
    redness = next(m for m in table if m.metric == "redness")
    assert not any(f.meaningful for f in redness.phases)


def test_one_or_two_scans_never_make_a_claim_however_large_the_difference() -> None:
    rng = random.Random(2)
    data = readings(
        rng,
        per_phase={CyclePhase.FOLLICULAR: 6, CyclePhase.LUTEAL: 2},
        effect={CyclePhase.LUTEAL: -30.0},
    )
    table = figures(data, noise=scan_noise, comparisons=12)
    luteal = acne_phase(table, CyclePhase.LUTEAL)
    assert luteal.count == 2
    assert luteal.difference < -15
    assert not luteal.meaningful
    assert "too few" in luteal.note
    assert acne_phase(table, CyclePhase.MENSTRUAL).count == 0


def test_no_effect_gives_no_claim_for_at_least_95_percent_of_users() -> None:
    rng = random.Random(3)
    claims = 0
    users = 300
    for _ in range(users):
        data = readings(rng, per_phase=dict.fromkeys(PHASES, 5), effect={})
        table = figures(data, noise=scan_noise, comparisons=3 * 4)
        claims += any(f.meaningful for m in table for f in m.phases)
    assert claims / users <= 0.05, claims


def test_photo_noise_is_a_floor_on_the_spread() -> None:
    # Readings that happen to agree closely cannot make a 2-point difference look real:
    # acne photo noise at these readings is ≈ 3 points a photo.
    data = []
    for i in range(5):
        for phase, value in ((CyclePhase.FOLLICULAR, 60.0), (CyclePhase.LUTEAL, 58.0)):
            on = date(2026, 1, 1) + timedelta(days=PHASE_DAYS[phase] + 28 * i)
            data.append((Observation(on=on, metric="acne", value=value + 0.01 * i), phase))
    table = figures(data, noise=scan_noise, comparisons=4)
    assert not acne_phase(table, CyclePhase.LUTEAL).meaningful
    # The shipped acne band at these readings (a p95 of |Δ|) as a per-photo standard deviation.
    assert table[0].noise == pytest.approx(band("acne", *(o.value for o, _ in data)) / 2.772, abs=0.01)


@pytest.mark.parametrize("df", [4, 6, 10, 30])
@pytest.mark.parametrize("p", [0.975, 1 - 0.05 / 24, 1 - 0.05 / 88])
def test_t_quantile_matches_scipy_within_two_percent(df: int, p: float) -> None:
    assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=0.02)
