"""How much a score moves when nothing about the skin changed: the repeatability bands.

BANDS[metric] is the 90th percentile of |Δ score| between a photo and the same photo after a
benign capture change (mirror, ±8% exposure, gamma 0.9/1.1, JPEG q75, noise sigma 3, 4% white
balance, 75% downscale, 3° rotation), measured by bench/vision_trust.py on the portraits
listed in docs/BENCHMARKS.md. A change no larger than its band is "within photo noise": the
app must not call it an improvement or a worsening.
"""

# Re-measure with: python bench/vision_trust.py PHOTO_DIR --json out.json (benign_p90).
BANDS: dict[str, float] = {}
# A metric without a measured band (e.g. from another provider) uses this, conservatively.
DEFAULT_BAND = 5.0


def band(metric: str) -> float:
    """The metric's repeatability band in score points."""
    return BANDS.get(metric, DEFAULT_BAND)


def within_noise(metric: str, delta: float) -> bool:
    """Whether a score change is no larger than the metric's repeatability band."""
    return abs(delta) <= band(metric)
