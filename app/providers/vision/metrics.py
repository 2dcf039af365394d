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

import cv2
import numpy as np

from app.core.vocabulary import METRICS, OVERALL
from app.providers.vision.regions import IOD_PX, REGION_NAMES, TWINS

# Pixel scales at IOD_PX = 64 (1 px ≈ 1 mm).
SIGMA_FINE = 0.8
SIGMA_PORE = 1.6
# Fine relief (texture, pores): the 1.0-1.6 px band of L, divided by the face's own 1.6-6 px
# relief. A tone curve or a darker skin scales every log contrast (and its noise) alike, so the
# ratio cancels them; a smoothing filter removes the fine band and keeps the coarse one.
SIGMA_RELIEF_FINE = 1.0
SIGMA_RELIEF_COARSE = 6.0
# Pores: pits 1-2 mm across, max(0, G1.3 - G0.8) of L (narrower than texture's band: a pore is
# smaller than the relief around it).
SIGMA_PIT = 1.3
RELIEF_FLOOR = 0.5  # log-units: a face flatter than this (in the 1.6-6 px band) is not divided further
# Skin: within these log-units of the face's median (hair, brows, nostrils, shadows and
# highlights are not skin); redder is allowed further (acne and redness are what we measure).
SKIN_MAX_DARKER = 60.0
SKIN_MAX_DARKER_PIXEL = 110.0  # a single pixel (a dark spot's centre) may be darker
SKIN_SIGMA = 4.0
SKIN_MAX_BRIGHTER = 45.0
SKIN_MAX_LESS_RED = 35.0
SKIN_MAX_MORE_RED = 60.0
# Red blobs (acne): E above its spot-scale surroundings by ACNE_DELTA_E log-units (full weight at 2x).
ACNE_DELTA_E = 4.0
# Flat dark spots (pigmentation): L below its surroundings by SPOT_DELTA_L, and not red.
SPOT_DELTA_L = 6.0
SIGMA_SPOT = 4.0
SIGMA_CHROMA = 1.4
ROUND_SIGMA = 2.0
ROUND_FULL = 0.4  # eigenvalue ratio at which a blob counts fully (a disc is 1, a line 0)
RED_RATIO = 0.6  # E residual ≥ this x darkening: red (haemoglobin), else dark (melanin)
BLOB_MIN_AREA = 3
BLOB_MAX_AREA = 70
BLOB_MAX_ASPECT = 3.0
# Wrinkles: curvature of the sigma-1.6 L plane across y dominating that along x.
WRINKLE_CURVATURE_MIN = 1.2  # log-units per px²
WRINKLE_ORIENTATION_RATIO = 2.0
# Oiliness: highlights ≥ e^0.45 (57%) brighter than the skin median, nearly colourless.
SHINE_L_MIN = 30.0
SHINE_CHROMA_MAX = 0.20  # full weight up to this chroma, none from twice it
MIN_REGION_PIXELS = 25


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
    "pores": Falling(mid=-219.7, scale=70.9),  # 100·ln(mean dark-pit depth / own relief)
    "wrinkles": Falling(mid=3.56, scale=2.49, zero_is_perfect=True),  # soft % horizontal-valley pixels
    "pigmentation": Falling(
        mid=2.53, scale=1.16, zero_is_perfect=True
    ),  # soft % of skin in round dark non-red spots
    "dark_circles": Falling(mid=7.4, scale=11.9),  # cheek - under-eye red-channel L, log-units
    "texture": Falling(mid=-102.0, scale=47.0),  # 100·ln(1-1.6 px L band / own 1.6-6 px relief)
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
class Blob:
    """A detected spot in crop pixel coordinates."""

    kind: str  # "dark_spot" or "red_blob"
    x: float
    y: float
    area: int

    @property
    def radius(self) -> float:
        """Radius of a disc of the same area."""
        return math.sqrt(self.area / math.pi)


@dataclass(frozen=True)
class Planes:
    """Per-pixel quantities of one crop, computed once and shared by every metric."""

    lum: np.ndarray  # L, log-units relative to the skin median
    red_l: np.ndarray  # 100 ln R relative: lightness that blood barely changes (evenness)
    ery: np.ndarray  # E, log-units relative to the skin median
    skin: np.ndarray  # bool
    pits: np.ndarray
    band: np.ndarray  # 1.0-1.6 px band of L: fine relief
    relief: np.ndarray  # 1.6-6 px band of L: the face's own relief, the fine band's yardstick
    lines: np.ndarray  # 0-1: how clearly a pixel lies on a horizontal valley
    shine: np.ndarray  # 0-1: how clearly a pixel is a specular highlight
    spots: np.ndarray  # bool: pixels of any blob (dilated), left out of texture and pores
    red_soft: np.ndarray  # 0-1: how clearly a pixel is a raised red blob
    dark_soft: np.ndarray  # 0-1: how clearly a pixel is a flat dark spot
    blobs: tuple[Blob, ...]


@dataclass(frozen=True)
class FaceResult:
    """Scores, per-region scores, raw measurements and blobs of one face."""

    scores: dict[str, float]
    regions: dict[str, dict[str, float]]
    measurements: dict[str, float]
    blobs: tuple[Blob, ...]


def _mad(values: np.ndarray) -> float:
    """1.4826 x median absolute deviation (a robust std); 0 for no values."""
    if not values.size:
        return 0.0
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def _near(candidates: np.ndarray, blobs: tuple["Blob", ...]) -> np.ndarray:
    """Pixels within 2 px of the accepted blobs' components (a bool mask)."""
    out = np.zeros(candidates.shape, np.uint8)
    for blob in blobs:
        cv2.circle(out, (round(blob.x), round(blob.y)), round(blob.radius + 2.0), 1, -1)
    return out.astype(bool)


def _roundness(plane: np.ndarray) -> np.ndarray:
    """0-1: how round a local minimum of the plane is (Hessian eigenvalue ratio; lines score 0)."""
    smooth = _blur(plane, ROUND_SIGMA)
    pxx = cv2.Sobel(smooth, cv2.CV_32F, 2, 0, ksize=3)
    pyy = cv2.Sobel(smooth, cv2.CV_32F, 0, 2, ksize=3)
    pxy = cv2.Sobel(smooth, cv2.CV_32F, 1, 1, ksize=3)
    half_trace = (pxx + pyy) / 2
    root = np.sqrt(((pxx - pyy) / 2) ** 2 + pxy**2)
    small, large = half_trace - root, half_trace + root
    ratio = np.where(large > 1e-6, small / np.maximum(large, 1e-6), 0.0)
    return np.clip(ratio / ROUND_FULL, 0.0, 1.0)


def _blur(plane: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(plane, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def _masked_blur(plane: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian mean of the plane over mask pixels only (so hair and eyes do not bleed in)."""
    m = mask.astype(np.float32)
    return _blur(plane * m, sigma) / np.maximum(_blur(m, sigma), 1e-3)


def srgb_to_linear(bgr: np.ndarray) -> np.ndarray:
    """Linear-light float32 BGR from 8-bit sRGB, through a 256-entry table."""
    table = _LINEAR_TABLE
    return table[bgr]


def _make_table() -> np.ndarray:
    v = np.arange(256, dtype=np.float64) / 255.0
    lin = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    return np.maximum(lin, 0.5 / 255 / 12.92).astype(np.float32)


_LINEAR_TABLE = _make_table()


def skin_reference(linear: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-channel median of the linear BGR over mask pixels: the face's own white point."""
    pixels = linear[mask]
    if not len(pixels):
        return np.ones(3, np.float32)
    return np.median(pixels, axis=0).astype(np.float32)


def _blobs(candidates: np.ndarray, *, kind: str) -> tuple[Blob, ...]:
    """Connected components of spot size and roundish shape."""
    _, _, stats, centroids = cv2.connectedComponentsWithStats(candidates.astype(np.uint8), connectivity=8)
    w, h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    area = stats[:, cv2.CC_STAT_AREA]
    keep = (
        (area >= BLOB_MIN_AREA)
        & (area <= BLOB_MAX_AREA)
        & (np.maximum(w, h) <= BLOB_MAX_ASPECT * np.minimum(w, h))
    )
    keep[0] = False
    return tuple(
        Blob(kind=kind, x=float(centroids[i, 0]), y=float(centroids[i, 1]), area=int(area[i]))
        for i in np.flatnonzero(keep)
    )


def compute_planes(*, bgr: np.ndarray, valid: np.ndarray, reference: np.ndarray, face: np.ndarray) -> Planes:
    """Relative colour planes, frequency bands, flags and blobs of a crop.

    reference: the skin's linear BGR median; face: the union of the region polygons.
    """
    linear = srgb_to_linear(bgr) / reference
    b, g, r = linear[..., 0], linear[..., 1], linear[..., 2]
    y = 0.0722 * b + 0.7152 * g + 0.2126 * r
    lum = 100.0 * np.log(y)
    ery = 100.0 * np.log(r / g)
    # Skin is judged on a smoothed copy (about 4 mm): hair, brows, nostrils and shadows are large
    # and far from the face's tone; a spot or papule is small and stays skin.
    area = valid & face
    smooth_l = _masked_blur(lum, area, SKIN_SIGMA)
    smooth_e = _masked_blur(ery, area, SKIN_SIGMA)
    skin = (
        area
        & (smooth_l >= -SKIN_MAX_DARKER)
        & (smooth_l <= SKIN_MAX_BRIGHTER)
        & (smooth_e >= -SKIN_MAX_LESS_RED)
        & (smooth_e <= SKIN_MAX_MORE_RED)
        & (lum >= -SKIN_MAX_DARKER_PIXEL)
        & (lum <= SKIN_MAX_BRIGHTER)
    )
    g1 = _blur(lum, SIGMA_FINE)
    g2 = _blur(lum, SIGMA_PORE)
    g_relief = _blur(lum, SIGMA_RELIEF_FINE)

    lxx = cv2.Sobel(g2, cv2.CV_32F, 2, 0, ksize=3) / 4.0
    lyy = cv2.Sobel(g2, cv2.CV_32F, 0, 2, ksize=3) / 4.0
    # Soft ramps (full weight at twice the threshold): no pixel flips in or out with re-encoding.
    lines = np.clip(lyy / WRINKLE_CURVATURE_MIN - 1.0, 0, 1) * (
        lyy >= WRINKLE_ORIENTATION_RATIO * np.abs(lxx)
    )

    mx = np.maximum(np.maximum(b, g), r)
    mn = np.minimum(np.minimum(b, g), r)
    # Chroma of the un-normalised light: a highlight reflects the light's colour, not the skin's.
    raw = srgb_to_linear(bgr)
    chroma = (raw.max(axis=2) - raw.min(axis=2)) / np.maximum(raw.max(axis=2), 1e-4)
    del mx, mn
    shine = (
        np.clip(lum / SHINE_L_MIN - 1.0, 0, 1)
        * np.clip(2.0 - chroma / SHINE_CHROMA_MAX, 0, 1)
        * (valid & face)
    )

    # Spot-scale band-pass (≈ 2-8 mm) of L and E: a papule or a spot stands out of it, a flush,
    # shading or a colour cast (all larger) do not. Continuous excess over a fixed threshold
    # rather than counted blobs, so noise and re-encoding move the score a little, not a lot.
    dog_l = g1 - _blur(lum, SIGMA_SPOT)
    # E is smoothed more: JPEG stores colour at half resolution, finer colour detail is noise.
    dog_e = _blur(ery, SIGMA_CHROMA) - _blur(ery, SIGMA_SPOT)
    darker = np.maximum(-dog_l, 0.0)
    # Haemoglobin raises R/G a lot for a small loss of light; melanin darkens a lot for a small
    # rise of R/G. The ratio of the two residuals tells a red papule from a brown spot.
    is_red = dog_e >= RED_RATIO * darker
    # Round, not elongated: folds, wrinkles and feature edges are lines, spots are blobs.
    red_soft = np.clip((dog_e - ACNE_DELTA_E) / ACNE_DELTA_E, 0, 1) * _roundness(-dog_e) * (skin & is_red)
    dark_soft = np.clip((darker - SPOT_DELTA_L) / SPOT_DELTA_L, 0, 1) * _roundness(dog_l) * (skin & ~is_red)
    blobs = (*_blobs(dark_soft >= 0.5, kind="dark_spot"), *_blobs(red_soft >= 0.5, kind="red_blob"))
    spot_pixels = cv2.dilate(((red_soft > 0) | (dark_soft > 0)).astype(np.uint8), np.ones((5, 5), np.uint8))
    return Planes(
        lum=lum,
        red_l=100.0 * np.log(r),
        ery=ery,
        skin=skin,
        pits=np.maximum(_blur(lum, SIGMA_PIT) - g1, 0.0),
        band=g_relief - g2,
        relief=g2 - _blur(lum, SIGMA_RELIEF_COARSE),
        lines=lines.astype(np.float32),
        shine=shine.astype(np.float32),
        spots=spot_pixels.astype(bool),
        # Soft ramps rather than a hard threshold: a pixel near the threshold cannot flip a
        # whole blob in or out, so re-encoding or noise moves the score a little, not a lot.
        red_soft=red_soft.astype(np.float32),
        dark_soft=dark_soft.astype(np.float32),
        blobs=blobs,
    )


@dataclass(frozen=True)
class Region:
    """A region's pixels: its polygon, and the skin pixels in it."""

    name: str
    area: np.ndarray  # polygon ∧ valid
    skin: np.ndarray  # area ∧ skin
    count: int
    skin_share: float

    def median(self, plane: np.ndarray) -> float:
        return float(np.median(plane[self.skin]))

    def robust_std(self, plane: np.ndarray, mask: np.ndarray | None = None) -> float:
        """1.4826 x the median absolute deviation: a std that a few spots do not inflate."""
        values = plane[self.skin if mask is None else mask]
        if values.size < MIN_REGION_PIXELS:
            values = plane[self.skin]
        return float(1.4826 * np.median(np.abs(values - np.median(values))))

    def clean(self, planes: Planes) -> np.ndarray:
        """Skin pixels away from detected spots."""
        return self.skin & ~planes.spots

    def blob_percent(self, blobs: tuple[Blob, ...], kind: str) -> float:
        """Area of the blobs of this kind centred in the region, as % of its skin pixels."""
        h, w = self.area.shape
        area = 0
        for b in blobs:
            x, y = min(w - 1, max(0, round(b.x))), min(h - 1, max(0, round(b.y)))
            if b.kind == kind and self.area[y, x]:
                area += b.area
        return 100.0 * area / self.count


def make_regions(*, planes: Planes, masks: dict[str, np.ndarray], valid: np.ndarray) -> dict[str, Region]:
    """Regions with enough skin to measure."""
    regions = {}
    for name in REGION_NAMES:
        if name not in masks:
            continue
        area = masks[name] & valid
        n_area = int(area.sum())
        skin = area & planes.skin
        n_skin = int(skin.sum())
        if n_area == 0 or n_skin < MIN_REGION_PIXELS:
            continue
        regions[name] = Region(name=name, area=area, skin=skin, count=n_skin, skin_share=n_skin / n_area)
    return regions


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


def raw_pores(planes: Planes, r: Region) -> float:
    """Mean depth of small dark pits, max(0, G1.3 - G0.8), against the region's own relief (100·ln ratio)."""
    clean = r.clean(planes)
    values = planes.pits[clean] if clean.sum() >= MIN_REGION_PIXELS else planes.pits[r.skin]
    return 100.0 * math.log(max(float(values.mean()), 1e-4) / _relief(planes, r))


def raw_wrinkles(planes: Planes, r: Region) -> float:
    """% of skin pixels (away from spots) on horizontal valleys."""
    clean = r.clean(planes)
    return 100.0 * float(planes.lines[clean if clean.sum() >= MIN_REGION_PIXELS else r.skin].mean())


def raw_texture(planes: Planes, r: Region) -> float:
    """Robust std of the 1.0-1.6 px L band against the region's own 1.6-6 px relief (100·ln ratio).

    In log units because photo noise scales with the ratio itself: a difference of logs has the
    same noise on a smooth and on a rough face.
    """
    return 100.0 * math.log(max(r.robust_std(planes.band, r.clean(planes)), 1e-4) / _relief(planes, r))


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
