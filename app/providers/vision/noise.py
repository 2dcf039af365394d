"""How much a score moves when nothing about the skin changed: the repeatability bands.

BANDS[metric] is the 95th percentile of |Δ score| between a photo and the same photo after a
benign capture change (mirror, ±8% exposure, gamma 0.9/1.1, JPEG q75, noise sigma 3, 4% white
balance, 75% downscale, 3° rotation), measured by bench/vision_trust.py on the portraits
listed in docs/BENCHMARKS.md. A change no larger than its band is "within photo noise": the
app must not call it an improvement or a worsening. The 95th rather than the 90th percentile
(the issue's stability target, ≤ 5 for every metric, is the 90th): a change is called real
only when fewer than 1 in 20 benign re-takes would produce it.
"""

# Measured 2026-12-02 on 60 portraits for local-mesh-5 (docs/BENCHMARKS.md; acne, pigmentation
# and overall changed from local-mesh-4, the rest re-measured the same); re-measure with
# python bench/vision_trust.py PHOTO_DIR --json out.json (the tables print p90; the p95 of the same
# per-change deltas is what is shipped here).
BANDS: dict[str, float] = {
    "acne": 2.8,
    "redness": 5.0,
    "oiliness": 5.0,
    "hydration": 3.8,
    "pores": 4.7,
    "wrinkles": 3.9,
    "pigmentation": 1.9,
    "dark_circles": 5.1,
    "texture": 4.7,
    "evenness": 5.0,
    "overall": 1.5,
}
# A metric without a measured band (e.g. from another provider) uses this, conservatively.
DEFAULT_BAND = 5.0


def band(metric: str) -> float:
    """The metric's repeatability band in score points."""
    return BANDS.get(metric, DEFAULT_BAND)


def within_noise(metric: str, delta: float) -> bool:
    """Whether a score change is no larger than the metric's repeatability band."""
    return abs(delta) <= band(metric)
