"""Skin metrics from the pixels of a normalised face crop.

Every metric is a raw "badness" measurement taken per region, averaged over the metric's
regions, and mapped to a 0-100 score (higher = healthier) by a falling logistic with a named
midpoint and scale. Pure functions, no I/O; docs/VISION.md explains each formula.

Pixel scales (sigmas, areas) assume the face box is resampled to FACE_SIZE pixels wide.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from app.core.vocabulary import METRICS, OVERALL
from app.providers.vision.regions import MIN_SKIN_PIXELS, Rect, face_tone_mask, median_u8

FACE_SIZE = 192

# Gaussian sigmas (px at FACE_SIZE; 1 px ≈ 0.75 mm on an adult face) splitting luminance into bands.
SIGMA_FINE = 1.0
SIGMA_PORE = 2.0
SIGMA_TEXTURE = 4.0
SIGMA_BACKGROUND = 8.0

# Skin is eroded by this many px so feature borders (hairline, brows, lids, lips) do not count
# as wrinkles, spots or texture.
SKIN_ERODE_PX = 2
# Redness: mean a* plus a bonus for the share of clearly red pixels.
RED_A_HIGH = 20.0
RED_TAIL_WEIGHT = 10.0
# Oiliness: specular highlights are bright (relative to the face and absolutely) and desaturated.
SHINE_V_MIN = 190
SHINE_V_DELTA = 35
SHINE_S_MAX = 70
# Wrinkles: a pixel on a horizontal dark line (a valley across y) whose curvature dominates any
# curvature along x. Measured on the sigma-2 luminance so single-pixel noise is no line.
WRINKLE_CURVATURE_MIN = 0.25  # L* units per px²
WRINKLE_ORIENTATION_RATIO = 2.0
# Dark spots: darker than the local background by SPOT_DELTA L* units, spot-sized, roundish.
SPOT_DELTA = 4.0
SPOT_MIN_AREA = 3
SPOT_MAX_AREA = 90
SPOT_MAX_ASPECT = 3.0
# Acne: redder than the local background by ACNE_DELTA_A a* units, papule-sized, roundish.
ACNE_DELTA_A = 5.0
ACNE_MIN_AREA = 4
ACNE_MAX_AREA = 90
ACNE_MAX_ASPECT = 3.0


@dataclass(frozen=True)
class Falling:
    """Falling logistic: raw == mid scores 50; mid - 2*scale scores 88; mid + 2*scale scores 12."""

    mid: float
    scale: float

    def score(self, raw: float) -> float:
        """Map a raw badness value to 0-100."""
        z = max(-60.0, min(60.0, (raw - self.mid) / self.scale))
        return 100.0 / (1.0 + math.exp(z))


MAPPINGS: dict[str, Falling] = {
    "acne": Falling(mid=1.5, scale=0.5),  # % of skin pixels in red blobs
    "redness": Falling(mid=18.0, scale=3.0),  # mean a* (+ red tail)
    "oiliness": Falling(mid=6.0, scale=2.0),  # % specular pixels
    "hydration": Falling(mid=3.4, scale=0.5),  # L* units (fine roughness & unevenness)
    "pores": Falling(mid=0.36, scale=0.06),  # mean dark-pit depth, L* units
    "wrinkles": Falling(mid=12.0, scale=3.0),  # % horizontal-valley pixels
    "pigmentation": Falling(mid=3.0, scale=0.8),  # % of skin pixels in dark spots
    "dark_circles": Falling(mid=8.0, scale=2.5),  # cheek L* - under-eye L*
    "texture": Falling(mid=2.9, scale=0.4),  # std of the 1-4 px band, L* units
    "evenness": Falling(mid=6.0, scale=1.5),  # spread of region mean L*/a*
}

METRIC_REGIONS: dict[str, tuple[str, ...]] = {
    "acne": ("forehead", "left_cheek", "right_cheek", "chin"),
    "redness": ("left_cheek", "right_cheek", "nose"),
    "oiliness": ("forehead", "nose"),
    "hydration": ("forehead", "left_cheek", "right_cheek"),
    "pores": ("left_cheek", "right_cheek", "nose"),
    "wrinkles": ("forehead", "under_eye_left", "under_eye_right"),
    "pigmentation": ("forehead", "left_cheek", "right_cheek", "chin"),
    "dark_circles": ("under_eye_left", "under_eye_right"),
    "texture": ("forehead", "left_cheek", "right_cheek", "chin"),
    "evenness": ("forehead", "left_cheek", "right_cheek", "nose", "chin"),
}
EVENNESS_MIN_REGIONS = 3
CHEEKS = ("left_cheek", "right_cheek")

# Weights of the overall score; they sum to 1 and are renormalised over the metrics present.
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
    """Per-pixel quantities of one face crop, computed once and shared by every metric.

    Masks and flags are uint8 0/1 so OpenCV's masked statistics can use them directly.
    """

    lum: np.ndarray
    a_star: np.ndarray
    skin: np.ndarray
    valid: np.ndarray
    fine: np.ndarray
    pits: np.ndarray
    texture_band: np.ndarray
    coarse: np.ndarray
    red_high: np.ndarray
    lines: np.ndarray
    shine: np.ndarray
    blobs: tuple[Blob, ...]


@dataclass(frozen=True)
class FaceResult:
    """Scores, per-region scores, raw measurements and blobs of one face."""

    scores: dict[str, float]
    regions: dict[str, dict[str, float]]
    measurements: dict[str, float]
    blobs: tuple[Blob, ...]


def _blur(plane: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(plane, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def _background(plane: np.ndarray) -> np.ndarray:
    """Local background, about a sigma-8 Gaussian: two pyramid levels, a sigma-2 blur, back up.

    Ten times cheaper than the direct sigma-8 blur and just as smooth for a background.
    """
    small = _blur(cv2.pyrDown(cv2.pyrDown(plane)), SIGMA_BACKGROUND / 4)
    return cv2.resize(small, (plane.shape[1], plane.shape[0]), interpolation=cv2.INTER_LINEAR)


def _blobs(
    candidates: np.ndarray, *, kind: str, min_area: int, max_area: int, max_aspect: float
) -> tuple[Blob, ...]:
    """Connected components of spot size and roundish shape."""
    _, _, stats, centroids = cv2.connectedComponentsWithStats(candidates.astype(np.uint8), connectivity=8)
    w, h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    area = stats[:, cv2.CC_STAT_AREA]
    # Elongated components are wrinkles, hairs or feature edges, not spots.
    keep = (area >= min_area) & (area <= max_area) & (np.maximum(w, h) <= max_aspect * np.minimum(w, h))
    keep[0] = False  # label 0 is the background
    return tuple(
        Blob(kind=kind, x=float(centroids[i, 0]), y=float(centroids[i, 1]), area=int(area[i]))
        for i in np.flatnonzero(keep)
    )


def compute_planes(*, bgr: np.ndarray, skin: np.ndarray, valid: np.ndarray) -> Planes:
    """Colour planes, frequency bands, line and highlight flags, and blobs of a face crop."""
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2Lab)
    # 8-bit Lab stores L*·255/100 and a*+128; convert back to CIE units.
    lum = lab[..., 0].astype(np.float32) * np.float32(100.0 / 255.0)
    a_star = lab[..., 1].astype(np.float32) - np.float32(128.0)
    skin = face_tone_mask(lab=lab, skin=skin, face_size=FACE_SIZE)
    size = 2 * SKIN_ERODE_PX + 1
    core = cv2.erode(skin.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))

    g1 = _blur(lum, SIGMA_FINE)
    g2 = _blur(lum, SIGMA_PORE)
    coarse = g1 - _background(lum)

    # Sobel's 2nd-derivative kernel ([1,-2,1] smoothed by [1,2,1]) has weight 4: /4 gives L*/px².
    lxx = cv2.Sobel(g2, cv2.CV_32F, 2, 0, ksize=3) / 4.0
    lyy = cv2.Sobel(g2, cv2.CV_32F, 0, 2, ksize=3) / 4.0
    lines = (lyy >= WRINKLE_CURVATURE_MIN) & (lyy >= WRINKLE_ORIENTATION_RATIO * np.abs(lxx))

    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
    sat, val = hsv[..., 1], hsv[..., 2]
    shine_level = max(SHINE_V_MIN, median_u8(val[core > 0]) + SHINE_V_DELTA)
    shine = (val >= shine_level) & (sat <= SHINE_S_MAX)

    on_skin = core > 0
    a_residual = _blur(a_star, SIGMA_FINE) - _background(a_star)
    blobs = (
        *_blobs(
            on_skin & (coarse <= -SPOT_DELTA),
            kind="dark_spot",
            min_area=SPOT_MIN_AREA,
            max_area=SPOT_MAX_AREA,
            max_aspect=SPOT_MAX_ASPECT,
        ),
        *_blobs(
            on_skin & (a_residual >= ACNE_DELTA_A),
            kind="red_blob",
            min_area=ACNE_MIN_AREA,
            max_area=ACNE_MAX_AREA,
            max_aspect=ACNE_MAX_ASPECT,
        ),
    )
    return Planes(
        lum=lum,
        a_star=a_star,
        skin=core,
        valid=valid.astype(np.uint8),
        fine=lum - g1,
        pits=np.maximum(g2 - g1, 0.0),
        texture_band=g1 - _blur(lum, SIGMA_TEXTURE),
        coarse=coarse,
        red_high=(a_star > RED_A_HIGH).astype(np.uint8),
        lines=lines.astype(np.uint8),
        shine=shine.astype(np.uint8),
        blobs=blobs,
    )


@dataclass(frozen=True)
class Region:
    """A region's window into the planes and which of its pixels are measured."""

    rect: Rect
    mask: np.ndarray  # skin pixels, or every valid pixel when the region has too little skin
    area: np.ndarray  # every valid pixel
    count: int  # pixels in mask
    skin_share: float

    def mean(self, plane: np.ndarray) -> float:
        """Mean of the plane over the measured pixels."""
        rows, cols = self.rect.slices()
        return float(cv2.mean(plane[rows, cols], mask=self.mask)[0])

    def std(self, plane: np.ndarray) -> float:
        """Standard deviation of the plane over the measured pixels."""
        rows, cols = self.rect.slices()
        return float(cv2.meanStdDev(plane[rows, cols], mask=self.mask)[1][0, 0])

    def blob_percent(self, blobs: tuple[Blob, ...], kind: str) -> float:
        """Area of the blobs of this kind centred in the region, as % of measured pixels."""
        r = self.rect
        area = sum(b.area for b in blobs if b.kind == kind and r.x0 <= b.x < r.x1 and r.y0 <= b.y < r.y1)
        return 100.0 * area / self.count


def _region(planes: Planes, rect: Rect) -> Region | None:
    """The region's masks, or None if it lies outside the photo."""
    rows, cols = rect.slices()
    area = planes.valid[rows, cols]
    area_count = cv2.countNonZero(area) if area.size else 0
    if not area_count:
        return None
    skin = planes.skin[rows, cols] & area
    skin_count = cv2.countNonZero(skin)
    share = skin_count / area_count
    # Next to no skin (unusual light, hair, make-up): measure the whole region, not a few pixels.
    mask = skin if skin_count >= MIN_SKIN_PIXELS else area
    return Region(rect=rect, mask=mask, area=area, count=cv2.countNonZero(mask), skin_share=share)


def raw_acne(planes: Planes, r: Region) -> float:
    """% of the region's skin pixels inside small red blobs."""
    return r.blob_percent(planes.blobs, "red_blob")


def raw_redness(planes: Planes, r: Region) -> float:
    """Mean a* plus RED_TAIL_WEIGHT times the share of pixels with a* above RED_A_HIGH."""
    return r.mean(planes.a_star) + RED_TAIL_WEIGHT * r.mean(planes.red_high)


def raw_oiliness(planes: Planes, r: Region) -> float:
    """% of the region's pixels that are specular highlights (highlights are not skin-coloured)."""
    rows, cols = r.rect.slices()
    return 100.0 * float(cv2.mean(planes.shine[rows, cols], mask=r.area)[0])


def raw_hydration(planes: Planes, r: Region) -> float:
    """Mean of fine roughness (std of L - G1) and unevenness (std of G1 - background), L* units."""
    return 0.5 * r.std(planes.fine) + 0.5 * r.std(planes.coarse)


def raw_pores(planes: Planes, r: Region) -> float:
    """Mean depth of small dark pits: mean of max(0, G2 - G1) in L* units."""
    return r.mean(planes.pits)


def raw_wrinkles(planes: Planes, r: Region) -> float:
    """% of skin pixels on horizontal dark lines."""
    return 100.0 * r.mean(planes.lines)


def raw_pigmentation(planes: Planes, r: Region) -> float:
    """% of the region's skin pixels inside small dark spots."""
    return r.blob_percent(planes.blobs, "dark_spot")


def raw_texture(planes: Planes, r: Region) -> float:
    """Std of the 1-4 px luminance band (G1 - G4), in L* units."""
    return r.std(planes.texture_band)


RAW_FUNCTIONS: dict[str, Callable[[Planes, Region], float]] = {
    "acne": raw_acne,
    "redness": raw_redness,
    "oiliness": raw_oiliness,
    "hydration": raw_hydration,
    "pores": raw_pores,
    "wrinkles": raw_wrinkles,
    "pigmentation": raw_pigmentation,
    "texture": raw_texture,
}


def _evenness_raw(planes: Planes, regs: dict[str, Region]) -> float | None:
    """Spread of region mean colour: hypot(std of region mean L*, std of region mean a*)."""
    names = [n for n in METRIC_REGIONS["evenness"] if n in regs]
    if len(names) < EVENNESS_MIN_REGIONS:
        return None
    lums = [regs[n].mean(planes.lum) for n in names]
    reds = [regs[n].mean(planes.a_star) for n in names]
    return math.hypot(float(np.std(lums)), float(np.std(reds)))


def _dark_circle_raws(planes: Planes, regs: dict[str, Region]) -> dict[str, float]:
    """Per under-eye region: mean cheek L* minus mean under-eye skin L* (positive = darker)."""
    cheeks = [regs[n] for n in CHEEKS if n in regs]
    eyes = [n for n in METRIC_REGIONS["dark_circles"] if n in regs]
    if not cheeks or not eyes:
        return {}
    cheek_l = sum(c.mean(planes.lum) for c in cheeks) / len(cheeks)
    return {n: cheek_l - regs[n].mean(planes.lum) for n in eyes}


def overall_score(scores: dict[str, float]) -> float:
    """Weighted mean of the metric scores present, weights renormalised."""
    present = [m for m in METRICS if m in scores]
    total = sum(OVERALL_WEIGHTS[m] for m in present)
    return sum(OVERALL_WEIGHTS[m] * scores[m] for m in present) / total


def _region_raws(planes: Planes, regs: dict[str, Region]) -> dict[str, dict[str, float]]:
    """metric → region → raw value, for every metric with at least one of its regions."""
    out: dict[str, dict[str, float]] = {}
    for metric, fn in RAW_FUNCTIONS.items():
        raws = {n: fn(planes, regs[n]) for n in METRIC_REGIONS[metric] if n in regs}
        if raws:
            out[metric] = raws
    circles = _dark_circle_raws(planes, regs)
    if circles:
        out["dark_circles"] = circles
    return out


def _in_metric_regions(blob: Blob, regs: dict[str, Region]) -> bool:
    """Whether a blob is centred in a region its metric is measured on (not brows, lips...)."""
    names = METRIC_REGIONS[BLOB_METRIC[blob.kind]]
    return any(
        r.rect.x0 <= blob.x < r.rect.x1 and r.rect.y0 <= blob.y < r.rect.y1
        for n, r in regs.items()
        if n in names
    )


def measure_face(*, planes: Planes, rects: dict[str, Rect]) -> FaceResult:
    """Score every metric measurable from the given regions."""
    regs = {name: reg for name, rect in rects.items() if (reg := _region(planes, rect)) is not None}
    measurements: dict[str, float] = {f"skin_fraction.{name}": reg.skin_share for name, reg in regs.items()}
    scores: dict[str, float] = {}
    regions: dict[str, dict[str, float]] = {}
    for metric, raws in _region_raws(planes, regs).items():
        mapping = MAPPINGS[metric]
        face_raw = sum(raws.values()) / len(raws)
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
    blobs = tuple(b for b in planes.blobs if _in_metric_regions(b, regs))
    measurements["dark_spot_count"] = float(sum(b.kind == "dark_spot" for b in blobs))
    measurements["red_blob_count"] = float(sum(b.kind == "red_blob" for b in blobs))
    return FaceResult(
        scores={m: round(v, 1) for m, v in scores.items()},
        regions=regions,
        measurements={k: round(v, 4) for k, v in measurements.items()},
        blobs=blobs,
    )
