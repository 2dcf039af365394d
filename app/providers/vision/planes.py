"""Per-pixel planes of the upright, fixed-scale face crop, relative to the person's own skin.

The crop is linearised (sRGB) and each channel divided by the median of the face's own skin,
which removes white balance and exposure; then everything is in log units (100·ln, ≈ %
contrast): L, relative luminance, and E, the erythema index ln(R/G), both 0 at the face's
median skin. Spots (round red blobs and flat dark ones) are found here once, and regions
(landmark polygons) read the planes. Pure functions, no I/O; the metrics are in metrics.py.
"""

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from app.providers.vision.regions import REGION_NAMES, area_step

# L = 0.77 ln G + 0.23 ln R: the green and red luminance weights (Rec. 709), renormalised.
LUM_WEIGHT_G = 0.7152 / (0.7152 + 0.2126)
LUM_WEIGHT_R = 0.2126 / (0.7152 + 0.2126)
# Pixel scales at IOD_PX = 64 (1 px ≈ 1 mm).
SIGMA_FINE = 0.8
SIGMA_PORE = 1.6
# Fine relief (texture, pores): the 1.0-1.6 px band of L, divided by the face's own 1.6-6 px
# relief. A tone curve or a darker skin scales every log contrast (and its noise) alike, so the
# ratio cancels them; a smoothing filter removes the fine band and keeps the coarse one.
SIGMA_RELIEF_FINE = 1.0
SIGMA_RELIEF_COARSE = 6.0
# Pores: pits 1-2 mm across, G1.3 - G0.8 of L read on its dark side (narrower than texture's band:
# a pore is smaller than the relief around it).
SIGMA_PIT = 1.3
# The photo's noise in the fine bands (local-mesh-6). A darker face in the same light and camera
# holds less light, so its sensor, 8-bit and JPEG noise is larger in log units and read as
# coarser skin. The crop's finest residual (L - G0.7) is mostly that noise; what white photo noise
# puts into the texture and pore bands, relative to that residual, follows from the crop's own
# averaging and warp (noise_gains), and is subtracted from their variance.
SIGMA_NOISE_PROBE = 0.7
# At most this share of a band's variance is taken away as noise: what is left of a very smooth
# face stays a (small) relief, never zero.
NOISE_MAX_SHARE = 0.95
RELIEF_FLOOR = 0.5  # log-units: a face flatter than this (in the 1.6-6 px band) is not divided further
# The white point (skin_reference): pixels within this much of its mean log value count (natural
# log, about 40 %); if this share of them is brighter still, the skin is there and the search
# moves up (at most REFERENCE_STEPS times); fewer pixels than REFERENCE_MIN_PIXELS decide nothing.
REFERENCE_WINDOW = 0.5
REFERENCE_BRIGHTER_SHARE = 0.25
REFERENCE_STEPS = 3
REFERENCE_MIN_PIXELS = 50
# Skin: within these log-units of the face's median (hair, brows, nostrils, shadows and
# highlights are not skin); redder is allowed further (acne and redness are what we measure).
SKIN_MAX_DARKER = 60.0
SKIN_MAX_DARKER_PIXEL = 110.0  # a single pixel (a dark spot's centre) may be darker
SKIN_SIGMA = 4.0
SKIN_MAX_BRIGHTER = 45.0
SKIN_MAX_LESS_RED = 35.0
SKIN_MAX_MORE_RED = 60.0
# Red blobs (acne): E above its spot-scale surroundings by ACNE_DELTA_E log-units at least (full
# weight at 2x the threshold).
ACNE_DELTA_E = 4.0
# Flat dark spots (pigmentation): L below its surroundings by SPOT_DELTA_L at least, and not red.
SPOT_DELTA_L = 6.0
# Both thresholds are at least this many times the face's own robust spread of its spot band
# (E for red blobs, L for dark spots). Photo noise grows on darker skin (less light, same camera)
# and lifts that spread with it, so noise peaks stay below the threshold on every tone; a
# papule or a spot stands several spreads out. The spread is read on the side away from the
# spots (below the median of E, above that of L), so the spots themselves hardly raise it.
SPOT_SPREAD_Z = 2.0
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
# Oiliness: highlights ≥ 30 log-units (35%) brighter than the skin median, nearly colourless.
SHINE_L_MIN = 30.0
SHINE_CHROMA_MAX = 0.20  # full weight up to this chroma, none from twice it
MIN_REGION_PIXELS = 25
# A region mostly hidden (a fringe over the forehead) is left out: its few skin pixels between
# hair strands come and go with re-encoding or a darker tone, and each time the region's metrics
# would join or leave the face's mean.
MIN_SKIN_SHARE = 0.25


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
    pits: np.ndarray  # G1.3 - G0.8 of L: positive at small dark pits (pores), negative at bumps
    band: np.ndarray  # 1.0-1.6 px band of L: fine relief
    probe: np.ndarray  # L - G0.7: the crop's finest residual, mostly photo noise
    noise_band: float  # white photo noise's variance in `band` per unit of its variance in `probe`
    noise_pits: float  # the same for `pits`
    relief: np.ndarray  # 1.6-6 px band of L: the face's own relief, the fine band's yardstick
    lines: np.ndarray  # 0-1: how clearly a pixel lies on a horizontal valley
    shine: np.ndarray  # 0-1: how clearly a pixel is a specular highlight
    spots: np.ndarray  # bool: pixels of any blob (dilated), left out of texture and pores
    red_soft: np.ndarray  # 0-1: how clearly a pixel is a raised red blob
    dark_soft: np.ndarray  # 0-1: how clearly a pixel is a flat dark spot
    blobs: tuple[Blob, ...]


def _mad(values: np.ndarray) -> float:
    """1.4826 x median absolute deviation (a robust std); 0 for no values."""
    if not values.size:
        return 0.0
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def spread_below(values: np.ndarray) -> float:
    """A robust std from the half of the values below their median (0 for no values).

    For noise it equals the MAD-based std; spots on the other side (red blobs raise E, dark spots
    lower L) do not enter it, however many there are.
    """
    if not values.size:
        return 0.0
    centre = float(np.median(values))
    below = centre - values[values < centre]
    return float(1.4826 * np.median(below)) if below.size else 0.0


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
    """Per-channel median of the linear BGR of the face's skin: the face's own white point.

    The median of the region pixels, then the median of those near it (within REFERENCE_WINDOW
    of its mean log value), so a strand of hair does not pull it. Hair and beards are darker
    than the skin they cover, and a beard can cover most of the chin and the lower cheeks: the
    median is then the beard's, and the skin, far brighter than that, is not skin any more. So
    when at least REFERENCE_BRIGHTER_SHARE of the pixels are brighter than the window, the
    search starts again from their median (`local-mesh-7`). A face without a beard has almost
    none there, and keeps the white point it had.
    """
    pixels = linear[mask]
    if not len(pixels):
        return np.ones(3, np.float32)
    floored = np.maximum(pixels, 1e-5)
    start = pixels
    for _ in range(REFERENCE_STEPS):
        reference = np.median(start, axis=0).astype(np.float32)
        tone = np.log(floored / reference).mean(axis=1)
        near = np.abs(tone) < REFERENCE_WINDOW
        if near.sum() > REFERENCE_MIN_PIXELS:
            reference = np.median(pixels[near], axis=0).astype(np.float32)
            tone = np.log(floored / reference).mean(axis=1)
        brighter = tone >= REFERENCE_WINDOW
        if brighter.mean() < REFERENCE_BRIGHTER_SHARE or brighter.sum() <= REFERENCE_MIN_PIXELS:
            break
        start = pixels[brighter]
    return reference


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


def _gaussian_taps(sigma: float) -> np.ndarray:
    """OpenCV's float Gaussian kernel for this sigma (a single tap for 0: no blur)."""
    if sigma <= 0:
        return np.ones(1)
    size = round(sigma * 8 + 1) | 1
    x = np.arange(size) - (size - 1) / 2
    taps = np.exp(-(x**2) / (2 * sigma**2))
    return taps / taps.sum()


_NOISE_PHASES = 16


@lru_cache(maxsize=512)
def noise_gains(shrink: float) -> tuple[float, float]:
    """(texture band, pit band) variance of white photo noise per unit of its probe variance.

    shrink: photo px per crop px. The photo is box-averaged by area_step(shrink) and then
    warped bilinearly, so how much of a pixel's noise reaches each band depends on the shrink
    (sixfold between a 0.7x and a 1.9x photo). Computed for the separable pipeline in
    one dimension (box-averaged noise is white; the bilinear phase is averaged over the crop;
    the roll is ignored), then squared for two.
    """
    k = area_step(shrink)
    step = shrink / k  # source px per crop px
    sigmas = (0.0, SIGMA_NOISE_PROBE, SIGMA_FINE, SIGMA_RELIEF_FINE, SIGMA_PIT, SIGMA_PORE)
    pairs = [(a, a) for a in sigmas] + [
        (0.0, SIGMA_NOISE_PROBE),
        (SIGMA_RELIEF_FINE, SIGMA_PORE),
        (SIGMA_FINE, SIGMA_PIT),
    ]
    phases = (np.arange(_NOISE_PHASES) + 0.5) / _NOISE_PHASES
    reach = math.ceil(4 * max(sigmas) * step) + 2
    j = np.arange(-reach, reach + 2)  # source pixels any tap can touch
    weights = {}
    for sigma in sigmas:
        taps = _gaussian_taps(sigma)
        half = (len(taps) - 1) // 2
        u = phases[:, None] + np.arange(-half, half + 1)[None, :] * step  # taps' positions, source px
        hat = np.maximum(0.0, 1.0 - np.abs(u[:, :, None] - j[None, None, :]))  # bilinear weights
        weights[sigma] = np.einsum("t,ptj->pj", taps, hat)  # phase x source pixel
    cross = {(a, b): float(np.mean(np.sum(weights[a] * weights[b], axis=1))) for a, b in pairs}

    def band_variance(a: float, b: float) -> float:
        return cross[a, a] ** 2 + cross[b, b] ** 2 - 2 * cross[a, b] ** 2

    probe = band_variance(0.0, SIGMA_NOISE_PROBE)
    return (
        band_variance(SIGMA_RELIEF_FINE, SIGMA_PORE) / probe,
        band_variance(SIGMA_FINE, SIGMA_PIT) / probe,
    )


def compute_planes(
    *, bgr: np.ndarray, valid: np.ndarray, reference: np.ndarray, face: np.ndarray, shrink: float
) -> Planes:
    """Relative colour planes, frequency bands, flags and blobs of a crop.

    reference: the skin's linear BGR median; face: the union of the region polygons; shrink:
    photo px per crop px (how the photo's noise reaches the crop's bands).
    """
    raw = srgb_to_linear(bgr)
    linear = raw / reference
    g, r = linear[..., 1], linear[..., 2]
    log_g, log_r = np.log(g), np.log(r)
    # Lightness as a fixed mix of log channels (optical density), not the log of a luminance
    # mix: melanin scales each channel by its own factor, so a spot's or a fold's contrast in
    # this L is the same on light and on dark skin. Blue is left out: on dark skin it holds a few
    # 8-bit levels and is mostly noise.
    lum = 100.0 * (LUM_WEIGHT_G * log_g + LUM_WEIGHT_R * log_r)
    ery = 100.0 * (log_r - log_g)
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

    # Chroma of the un-normalised light: a highlight reflects the light's colour, not the skin's.
    # Channel-wise maximum/minimum of three planes: NumPy's reduction over the last axis of an
    # interleaved image is ≈ 10x slower than two element-wise passes (same values, bit for bit).
    b, g_raw, r_raw = raw[..., 0], raw[..., 1], raw[..., 2]
    brightest = np.maximum(np.maximum(b, g_raw), r_raw)
    chroma = (brightest - np.minimum(np.minimum(b, g_raw), r_raw)) / np.maximum(brightest, 1e-4)
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
    red_round = _roundness(-dog_e) * (skin & is_red)
    dark_round = _roundness(dog_l) * (skin & ~is_red)
    acne_delta = max(ACNE_DELTA_E, SPOT_SPREAD_Z * spread_below(dog_e[skin]))
    spot_delta = max(SPOT_DELTA_L, SPOT_SPREAD_Z * spread_below(-dog_l[skin]))
    red_soft = np.clip((dog_e - acne_delta) / acne_delta, 0, 1) * red_round
    dark_soft = np.clip((darker - spot_delta) / spot_delta, 0, 1) * dark_round
    blobs = (*_blobs(dark_soft >= 0.5, kind="dark_spot"), *_blobs(red_soft >= 0.5, kind="red_blob"))
    # What the relief metrics leave out stays what the fixed thresholds find: every candidate
    # blob, however faint (a spot is not relief), and independent of the face's spread, so
    # texture, pores, hydration and wrinkles do not move with it.
    candidates = ((dog_e > ACNE_DELTA_E) & (red_round > 0)) | ((darker > SPOT_DELTA_L) & (dark_round > 0))
    spot_pixels = cv2.dilate(candidates.astype(np.uint8), np.ones((5, 5), np.uint8))
    noise_band, noise_pits = noise_gains(round(shrink, 3))
    return Planes(
        lum=lum,
        red_l=100.0 * log_r,
        ery=ery,
        skin=skin,
        pits=_blur(lum, SIGMA_PIT) - g1,
        band=g_relief - g2,
        probe=lum - _blur(lum, SIGMA_NOISE_PROBE),
        noise_band=noise_band,
        noise_pits=noise_pits,
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
        if n_area == 0 or n_skin < MIN_REGION_PIXELS or n_skin < MIN_SKIN_SHARE * n_area:
            continue
        regions[name] = Region(name=name, area=area, skin=skin, count=n_skin, skin_share=n_skin / n_area)
    return regions
