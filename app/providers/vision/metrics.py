"""Skin metrics from the upright, fixed-scale face crop, relative to the person's own skin.

Colour is measured relative to the face, not the camera: the crop is linearised (sRGB) and
each channel divided by the median of the face's own skin, which removes white balance and
exposure; then everything is in log units (100·ln, ≈ % contrast):

- L: relative luminance, 0 at the face's median skin;
- E: erythema index ln(R/G), 0 at the face's median skin (redness, independent of skin tone
  as far as a ratio can be).

Each metric looks at the feature it names (docs/VISION.md): red blobs (acne), flat dark
non-red spots (pigmentation), regional redness of the cheeks and nose against the forehead
and chin (redness), small dark pits (pores), fine relief away from spots (texture),
horizontal valleys (wrinkles), specular shine (oiliness), under-eye vs cheek (dark circles),
spread of region tone (evenness). Raw values map to 0-100 (higher = healthier) by a falling
logistic calibrated with bench/vision_trust.py. Pure functions, no I/O.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.core.vocabulary import METRICS, OVERALL
from app.providers.vision.planes import (
    MIN_REGION_PIXELS,
    NOISE_MAX_SHARE,
    RELIEF_FLOOR,
    Blob,
    Planes,
    Region,
    compute_planes,
    make_regions,
    skin_reference,
    spread_below,
    srgb_to_linear,
)
from app.providers.vision.regions import IOD_PX, TWINS

__all__ = ["compute_planes", "make_regions", "skin_reference", "srgb_to_linear"]


@dataclass(frozen=True)
class Falling:
    """Falling logistic: raw == mid scores 50; mid - 2*scale scores 88; mid + 2*scale scores 12.

    With zero_is_perfect (for raws that cannot go below 0: a share of blob or shine pixels) the
    curve is stretched so that raw 0, none of the feature at all, scores exactly 100.
    """

    mid: float
    scale: float
    zero_is_perfect: bool = False

    def _logistic(self, raw: float) -> float:
        z = max(-60.0, min(60.0, (raw - self.mid) / self.scale))
        return 100.0 / (1.0 + math.exp(z))

    def score(self, raw: float) -> float:
        """Map a raw badness value to 0-100."""
        value = self._logistic(raw)
        if self.zero_is_perfect:
            value = min(100.0, 100.0 * value / self._logistic(0.0))
        return value


# Calibrated with bench/vision_trust.py (docs/BENCHMARKS.md): scale = 5 x the metric's p90 raw
# change under benign capture changes (so photo noise moves a score ≈ 3-5 points), widened for
# long-tailed metrics (oiliness, wrinkles) so the 97th-percentile ordinary face stays ≥ 30; mid
# puts the median ordinary face at 80.
MAPPINGS: dict[str, Falling] = {
    "acne": Falling(mid=1.85, scale=1.18, zero_is_perfect=True),  # soft % of skin in round red blobs
    "redness": Falling(mid=21.5, scale=10.0),  # cheek/nose E minus forehead/chin E, log-units
    "oiliness": Falling(mid=2.77, scale=2.0, zero_is_perfect=True),  # soft % specular pixels
    "hydration": Falling(mid=9.4, scale=3.6),  # robust std of the 1.6-6 px L relief, log-units
    "pores": Falling(mid=-106.9, scale=84.6),  # 100·ln(dark-side pit depth without noise / own relief)
    "wrinkles": Falling(mid=3.56, scale=2.49, zero_is_perfect=True),  # soft % horizontal-valley pixels
    "pigmentation": Falling(
        mid=2.53, scale=1.16, zero_is_perfect=True
    ),  # soft % of skin in round dark non-red spots
    "dark_circles": Falling(mid=7.4, scale=11.9),  # cheek - under-eye red-channel L, log-units
    "texture": Falling(mid=-116.2, scale=45.7),  # 100·ln(1-1.6 px L band without noise / own relief)
    "evenness": Falling(mid=18.6, scale=5.8),  # std of region median red-channel L, log-units
}

METRIC_REGIONS: dict[str, tuple[str, ...]] = {
    "acne": ("forehead", "left_cheek", "right_cheek", "chin"),
    "redness": ("left_cheek", "right_cheek", "nose"),
    "oiliness": ("forehead", "nose", "left_cheek", "right_cheek"),
    "hydration": ("forehead", "left_cheek", "right_cheek"),
    # Not the nose: its small polygon on a curved, shiny surface is mostly photo noise.
    "pores": ("forehead", "left_cheek", "right_cheek", "chin", "under_eye_left", "under_eye_right"),
    "wrinkles": ("forehead", "under_eye_left", "under_eye_right"),
    "pigmentation": ("forehead", "left_cheek", "right_cheek", "chin"),
    "dark_circles": ("under_eye_left", "under_eye_right"),
    "texture": ("forehead", "left_cheek", "right_cheek", "chin", "under_eye_left", "under_eye_right"),
    "evenness": ("forehead", "left_cheek", "right_cheek", "nose", "chin"),
}
REDNESS_REFERENCE = ("forehead", "chin")
CHEEKS = ("left_cheek", "right_cheek")
EVENNESS_MIN_REGIONS = 3

OVERALL_WEIGHTS: dict[str, float] = {
    "acne": 0.15,
    "redness": 0.10,
    "oiliness": 0.08,
    "hydration": 0.10,
    "pores": 0.08,
    "wrinkles": 0.12,
    "pigmentation": 0.12,
    "dark_circles": 0.07,
    "texture": 0.10,
    "evenness": 0.08,
}
BLOB_METRIC = {"dark_spot": "pigmentation", "red_blob": "acne"}


@dataclass(frozen=True)
class FaceResult:
    """Scores, per-region scores, raw measurements and blobs of one face."""

    scores: dict[str, float]
    regions: dict[str, dict[str, float]]
    measurements: dict[str, float]
    blobs: tuple[Blob, ...]


def raw_acne(planes: Planes, r: Region) -> float:
    """Soft % of the region's skin that is raised red blob (E above its local background)."""
    return 100.0 * float(planes.red_soft[r.skin].mean())


def raw_pigmentation(planes: Planes, r: Region) -> float:
    """Soft % of the region's skin that is flat dark spot (L below its background, not red)."""
    return 100.0 * float(planes.dark_soft[r.skin].mean())


def raw_oiliness(planes: Planes, r: Region) -> float:
    """% of the region's pixels that are specular highlights."""
    return 100.0 * float(planes.shine[r.area].mean())


def raw_hydration(planes: Planes, r: Region) -> float:
    """Uneven surface: robust std of the 1.6-6 px L relief, away from spots, in log-units.

    Coarser than what a smoothing filter removes (that is texture's fine band), so a beauty
    filter does not read as better hydration.
    """
    return r.robust_std(planes.relief, r.clean(planes))


def _relief(planes: Planes, r: Region) -> float:
    """The region's own 1.6-6 px relief (robust std, away from spots), floored."""
    return max(RELIEF_FLOOR, r.robust_std(planes.relief, r.clean(planes)))


def _without_noise(variance: float, noise_gain: float, planes: Planes, r: Region, mask: np.ndarray) -> float:
    """A band's variance minus what the photo's noise puts into it (local-mesh-6).

    The noise is read on the same pixels from the crop's finest residual (planes.probe) and
    carried to the band by noise_gain (planes.noise_gains). At most NOISE_MAX_SHARE of the
    variance is taken away.
    """
    probe = r.robust_std(planes.probe, mask) ** 2
    return max(variance - noise_gain * probe, (1.0 - NOISE_MAX_SHARE) * variance)


def raw_pores(planes: Planes, r: Region) -> float:
    """Depth of small dark pits against the region's own relief (100·ln ratio).

    The pit band G1.3 - G0.8 of L is positive where a pixel is darker than its 1-2 mm
    surroundings; its robust spread on that side only (pores are dark pits, bumps do not count),
    without the photo's noise, over the region's relief.
    """
    clean = _clean_or_skin(planes, r)
    depth = spread_below(-planes.pits[clean]) ** 2
    return 100.0 * math.log(
        math.sqrt(max(_without_noise(depth, planes.noise_pits, planes, r, clean), 1e-8)) / _relief(planes, r)
    )


def raw_wrinkles(planes: Planes, r: Region) -> float:
    """% of skin pixels (away from spots) on horizontal valleys."""
    clean = r.clean(planes)
    return 100.0 * float(planes.lines[clean if clean.sum() >= MIN_REGION_PIXELS else r.skin].mean())


def raw_texture(planes: Planes, r: Region) -> float:
    """Robust std of the 1.0-1.6 px L band, without the photo's noise, against the region's own
    1.6-6 px relief (100·ln ratio).

    In log units because photo noise scales with the ratio itself: a difference of logs has the
    same noise on a smooth and on a rough face.
    """
    clean = _clean_or_skin(planes, r)
    fine = r.robust_std(planes.band, clean) ** 2
    return 100.0 * math.log(
        math.sqrt(max(_without_noise(fine, planes.noise_band, planes, r, clean), 1e-8)) / _relief(planes, r)
    )


RAW_FUNCTIONS: dict[str, Callable[[Planes, Region], float]] = {
    "acne": raw_acne,
    "oiliness": raw_oiliness,
    "hydration": raw_hydration,
    "pores": raw_pores,
    "wrinkles": raw_wrinkles,
    "pigmentation": raw_pigmentation,
    "texture": raw_texture,
}


def _clean_or_skin(planes: Planes, r: Region) -> np.ndarray:
    """The region's skin away from spots, or all its skin if that leaves too little."""
    clean = r.clean(planes)
    return clean if clean.sum() >= MIN_REGION_PIXELS else r.skin


def _symmetric_mean(raws: dict[str, float]) -> float:
    """Mean over regions where each twin pair counts as one (their mean): mirror-invariant."""
    values = []
    seen = set()
    for a, b in TWINS:
        pair = [raws[n] for n in (a, b) if n in raws]
        if pair:
            values.append(sum(pair) / len(pair))
        seen |= {a, b}
    values += [v for n, v in raws.items() if n not in seen]
    return sum(values) / len(values)


def _redness_raw(planes: Planes, regs: dict[str, Region]) -> dict[str, float]:
    """Per cheek/nose region: its median E minus the median E of forehead and chin skin."""
    refs = [regs[n] for n in REDNESS_REFERENCE if n in regs]
    if not refs:
        return {}
    ref = float(np.median(np.concatenate([planes.ery[_clean_or_skin(planes, r)] for r in refs])))
    # The median away from blobs: a flush covers most of the cheek, papules are acne's.
    out = {}
    for n in METRIC_REGIONS["redness"]:
        if n in regs:
            out[n] = float(np.median(planes.ery[_clean_or_skin(planes, regs[n])])) - ref
    return out


def _evenness_raw(planes: Planes, regs: dict[str, Region]) -> float | None:
    """Spread of region tone: std of the regions' median red-channel lightness.

    Haemoglobin absorbs green and blue but hardly red, melanin all three: the red channel sees
    pigment, not a flush (which is redness's).
    """
    names = [n for n in METRIC_REGIONS["evenness"] if n in regs]
    if len(names) < EVENNESS_MIN_REGIONS:
        return None
    return float(np.std([regs[n].median(planes.red_l) for n in names]))


def _dark_circle_raws(planes: Planes, regs: dict[str, Region]) -> dict[str, float]:
    """Per under-eye region: cheek minus under-eye median red-channel lightness (positive = darker).

    The red channel, like evenness: a flush of the cheeks must not read as lighter under-eyes.
    """
    cheeks = [regs[n] for n in CHEEKS if n in regs]
    eyes = [n for n in METRIC_REGIONS["dark_circles"] if n in regs]
    if not cheeks or not eyes:
        return {}
    cheek = sum(float(np.median(planes.red_l[_clean_or_skin(planes, c)])) for c in cheeks) / len(cheeks)
    return {n: cheek - float(np.median(planes.red_l[_clean_or_skin(planes, regs[n])])) for n in eyes}


def overall_score(scores: dict[str, float]) -> float:
    """Weighted mean of the metric scores present, weights renormalised."""
    present = [m for m in METRICS if m in scores]
    total = sum(OVERALL_WEIGHTS[m] for m in present)
    return sum(OVERALL_WEIGHTS[m] * scores[m] for m in present) / total


def region_raws(planes: Planes, regs: dict[str, Region]) -> dict[str, dict[str, float]]:
    """metric → region → raw value."""
    out: dict[str, dict[str, float]] = {}
    for metric, fn in RAW_FUNCTIONS.items():
        raws = {n: fn(planes, regs[n]) for n in METRIC_REGIONS[metric] if n in regs}
        if raws:
            out[metric] = raws
    for metric, raws in (
        ("redness", _redness_raw(planes, regs)),
        ("dark_circles", _dark_circle_raws(planes, regs)),
    ):
        if raws:
            out[metric] = raws
    return out


def measure_face(*, planes: Planes, regs: dict[str, Region]) -> FaceResult:
    """Score every metric measurable from the given regions."""
    measurements: dict[str, float] = {f"skin_fraction.{n}": r.skin_share for n, r in regs.items()}
    scores: dict[str, float] = {}
    regions: dict[str, dict[str, float]] = {}
    for metric, raws in region_raws(planes, regs).items():
        mapping = MAPPINGS[metric]
        face_raw = _symmetric_mean(raws)
        scores[metric] = mapping.score(face_raw)
        measurements[f"{metric}.raw"] = face_raw
        for name, raw in raws.items():
            measurements[f"{metric}.raw.{name}"] = raw
            regions.setdefault(name, {})[metric] = round(mapping.score(raw), 1)
    evenness = _evenness_raw(planes, regs)
    if evenness is not None:
        scores["evenness"] = MAPPINGS["evenness"].score(evenness)
        measurements["evenness.raw"] = evenness
    if scores:
        scores[OVERALL] = overall_score(scores)
    names = set(regs)
    blobs = tuple(
        b
        for b in planes.blobs
        if any(
            n in names
            and regs[n].area[
                min(regs[n].area.shape[0] - 1, round(b.y)), min(regs[n].area.shape[1] - 1, round(b.x))
            ]
            for n in METRIC_REGIONS[BLOB_METRIC[b.kind]]
        )
    )
    measurements["dark_spot_count"] = float(sum(b.kind == "dark_spot" for b in blobs))
    measurements["red_blob_count"] = float(sum(b.kind == "red_blob" for b in blobs))
    return FaceResult(
        scores={m: round(v, 1) for m, v in scores.items()},
        regions=regions,
        measurements={k: round(v, 4) for k, v in measurements.items()},
        blobs=blobs,
    )


__all__ = ["IOD_PX", "MAPPINGS", "OVERALL_WEIGHTS", "FaceResult", "Falling", "overall_score"]
