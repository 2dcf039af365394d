"""Can a user trust the skin scores? `python bench/vision_trust.py PHOTO_DIR [--json OUT]`.

For every portrait in PHOTO_DIR (jpg/jpeg/png, any person, no visible skin condition) the
local analyser is run on the photo as sent (JPEG q95), on ten benign capture changes and on
five controlled real changes drawn on the skin (red papules, dark spots, a cheek flush, white
specular shine on the T-zone and cheekbones, skin smoothing). Prints the issue's tables in
Markdown: acceptance, readings below 30, p90 |Δ| under benign changes and under mirroring alone,
skin-tone correlation (Spearman rho with ITA° from CIELAB), real-change hit rate, signal ÷
noise, cross-talk, quality flips, the analysis time of a 12 MP photo, and a causal skin-tone
test: the same face with added melanin (ITA° +10 ... -50, the photo's noise re-added at the
darker level) and the p90 score shift per metric. `--json` writes
the per-metric repeatability bands (p90 |Δ| under the benign changes) for
app/providers/vision/noise.py. Photos are never copied anywhere. To iterate on one problem,
`--changes exposure+8%,white_balance4%` runs only those benign changes and `--skip real,tone,timing`
leaves out the real changes, the skin-tone test or the 12 MP timing (the tables then show only
what ran; bands for noise.py need the full run). The "conditions" part applies the benign
changes to each real change's photo too, and tables p95 |Δ| by the lower of a pair's two
readings: where a metric finds something it can be far noisier than on clear faces, and
noise.LEVEL_BANDS ships that.
"""

import argparse
import itertools
import json
import math
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.core.vocabulary import METRICS_WITH_OVERALL as METRICS
from app.providers.vision import landmarks as lm
from app.providers.vision.local import LocalVisionProvider

SEED = 20261201
HIT_POINTS = 5.0
MAX_SIDE = 2048


def jpeg(image: np.ndarray, quality: int = 95) -> bytes:
    """JPEG bytes of a BGR image."""
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


def _gamma(image: np.ndarray, g: float) -> np.ndarray:
    table = np.clip(255.0 * (np.arange(256) / 255.0) ** g, 0, 255).astype(np.uint8)
    return cv2.LUT(image, table)


def _gain(image: np.ndarray, gains: tuple[float, float, float]) -> np.ndarray:
    return np.clip(image.astype(np.float32) * np.array(gains, np.float32), 0, 255).astype(np.uint8)


def _rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


BENIGN_CHANGES = (
    "mirror",
    "exposure+8%",
    "exposure-8%",
    "gamma0.9",
    "gamma1.1",
    "jpeg_q75",
    "noise_s3",
    "white_balance4%",
    "downscale75%",
    "rotate3deg",
)
PARTS = ("real", "tone", "conditions", "timing")
# Bins of the lower of a benign pair's two readings, for the level-dependent bands in
# app/providers/vision/noise.py (LEVEL_BANDS): a metric may be far noisier where it finds
# something (oiliness on a shiny face) than on the clear faces that dominate the set.
LEVEL_BINS = (50.0, 80.0, 90.0)


def benign_variants(image: np.ndarray) -> dict[str, bytes]:
    """The ten benign capture changes (BENIGN_CHANGES), as the bytes a phone would send."""
    rng = np.random.default_rng(SEED)
    noisy = np.clip(image.astype(np.float32) + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)
    h, w = image.shape[:2]
    return {
        "mirror": jpeg(np.ascontiguousarray(image[:, ::-1])),
        "exposure+8%": jpeg(_gain(image, (1.08, 1.08, 1.08))),
        "exposure-8%": jpeg(_gain(image, (0.92, 0.92, 0.92))),
        "gamma0.9": jpeg(_gamma(image, 0.9)),
        "gamma1.1": jpeg(_gamma(image, 1.1)),
        "jpeg_q75": jpeg(image, 75),
        "noise_s3": jpeg(noisy),
        "white_balance4%": jpeg(_gain(image, (0.96, 1.0, 1.04))),  # BGR: warmer light
        "downscale75%": jpeg(
            cv2.resize(image, (round(w * 0.75), round(h * 0.75)), interpolation=cv2.INTER_AREA)
        ),
        "rotate3deg": jpeg(_rotate(image, 3.0)),
    }


def _mesh(image: np.ndarray) -> np.ndarray | None:
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    faces = lm.detect_faces(rgb)
    if not faces:
        return None
    faces.sort(key=lambda d: -d.box[2] * d.box[3])
    found = lm.face_mesh(rgb, faces[0])
    return None if found is None else found[0]


def _skin_sites(mesh: np.ndarray, rng: np.random.Generator, n: int) -> list[tuple[float, float]]:
    """n points on cheeks, forehead and chin (placed from the mesh, not by the analyser)."""
    el, er = lm.eye_centres(mesh)
    d = float(np.hypot(*(er - el)))
    ux = (er - el) / d
    uy = np.array([-ux[1], ux[0]])
    mid = (el + er) / 2
    zones = [  # (centre in eye-distance units along ux, uy; half-extent)
        ((-0.62, 0.80), (0.17, 0.17)),
        ((0.62, 0.80), (0.17, 0.17)),
        ((0.0, -0.55), (0.35, 0.08)),
        ((0.0, 1.72), (0.18, 0.05)),
    ]
    pts = []
    for i in range(n):
        (cx, cy), (hx, hy) = zones[i % len(zones)]
        u = cx + rng.uniform(-hx, hx)
        v = cy + rng.uniform(-hy, hy)
        pts.append(tuple(mid + (u * ux + v * uy) * d))
    return pts


def _blend_disc(image: np.ndarray, centre: tuple[float, float], radius: float, gains: np.ndarray) -> None:
    """Multiply pixels by per-channel gains with a soft disc alpha (in place, float image)."""
    x, y = centre
    r = math.ceil(radius * 2.5)
    x0, y0 = max(0, int(x) - r), max(0, int(y) - r)
    x1, y1 = min(image.shape[1], int(x) + r + 1), min(image.shape[0], int(y) + r + 1)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    alpha = np.exp(-(((xx - x) ** 2 + (yy - y) ** 2) / (2 * (radius * 0.7) ** 2)))[..., None]
    image[y0:y1, x0:x1] *= 1.0 + alpha * (gains - 1.0)


# Specular highlights of an oily T-zone and cheekbones: (centre along ux, uy in eye distances,
# half-axes along ux, uy). A highlight adds the light's own colour (white here) in linear light.
SHINE_SPOTS = (
    ((0.0, -0.45), (0.28, 0.09)),  # forehead
    ((0.0, 0.60), (0.07, 0.18)),  # nose bridge to tip
    ((-0.55, 0.42), (0.16, 0.07)),  # cheekbones
    ((0.55, 0.42), (0.16, 0.07)),
)
SHINE_LINEAR = 0.5  # added linear light at the highlight's centre (of 1.0 full scale)


def add_shine(image: np.ndarray, mesh: np.ndarray, *, strength: float = SHINE_LINEAR) -> np.ndarray:
    """The photo with white specular highlights on forehead, nose and cheekbones (BGR uint8)."""
    el, er = lm.eye_centres(mesh)
    d = float(np.hypot(*(er - el)))
    ux = (er - el) / d
    mid = (el + er) / 2
    alpha = np.zeros(image.shape[:2], np.float32)
    for (cu, cv), (hu, hv) in SHINE_SPOTS:
        centre = mid + (cu * ux + cv * np.array([-ux[1], ux[0]])) * d
        axes = (max(1, round(hu * d)), max(1, round(hv * d)))
        angle = math.degrees(math.atan2(ux[1], ux[0]))
        cv2.ellipse(alpha, (round(centre[0]), round(centre[1])), axes, angle, 0, 360, 1.0, -1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), max(1.0, 0.03 * d))
    return _to_srgb(_to_linear(image) + strength * alpha[..., None])


def real_changes(image: np.ndarray, mesh: np.ndarray) -> dict[str, bytes]:
    """The five controlled changes as the bytes a phone would send."""
    return {name: jpeg(changed) for name, changed in real_change_images(image, mesh).items()}


def real_change_images(image: np.ndarray, mesh: np.ndarray) -> dict[str, np.ndarray]:
    """The five controlled changes, drawn on the skin at sizes given in eye distances (≈ 63 mm)."""
    rng = np.random.default_rng(SEED)
    el, er = lm.eye_centres(mesh)
    d = float(np.hypot(*(er - el)))
    out: dict[str, np.ndarray] = {}
    papules = image.astype(np.float32)
    for p in _skin_sites(mesh, rng, 12):
        _blend_disc(papules, p, 0.045 * d, np.array([0.72, 0.70, 1.04], np.float32))  # BGR: red, raised
    out["red_papules"] = np.clip(papules, 0, 255).astype(np.uint8)
    spots = image.astype(np.float32)
    for p in _skin_sites(mesh, rng, 12):
        _blend_disc(spots, p, 0.05 * d, np.array([0.62, 0.70, 0.76], np.float32))  # brown, flat
    out["dark_spots"] = np.clip(spots, 0, 255).astype(np.uint8)
    flush = image.astype(np.float32)
    mid = (el + er) / 2
    down = np.array([-(er - el)[1], (er - el)[0]]) / d
    for side in (el, er):
        centre = tuple(side + (side - mid) * 0.25 + down * 0.80 * d)
        _blend_disc(flush, centre, 0.32 * d, np.array([0.86, 0.84, 1.02], np.float32))
    out["cheek_flush"] = np.clip(flush, 0, 255).astype(np.uint8)
    out["oily_shine"] = add_shine(image, mesh)
    # Skin smoothing (a beauty filter) inside the face oval: edges kept, fine relief removed.
    hull = cv2.convexHull(mesh[:, :2].astype(np.float32)).astype(np.int32)
    x, y, w, h = cv2.boundingRect(hull)
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(image.shape[1], x + w), min(image.shape[0], y + h)
    smoothed = image.copy()
    face = np.ascontiguousarray(image[y0:y1, x0:x1])
    smooth = cv2.bilateralFilter(face, d=0, sigmaColor=18, sigmaSpace=max(2.0, 0.04 * d))
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, hull, 1)
    inside = mask[y0:y1, x0:x1, None] > 0
    smoothed[y0:y1, x0:x1] = np.where(inside, smooth, face)
    out["skin_smoothing"] = smoothed
    return out


# Melanin absorbs more at shorter wavelengths, about as λ^-3.5 (Jacques' fit of the melanosome
# absorption spectrum): relative to the red channel (≈ 600 nm) the green (≈ 540 nm) and blue
# (≈ 460 nm) channels see 1.44x and 2.51x its optical density.
MELANIN_OD_BGR = np.array([2.51, 1.44, 1.0], np.float32)
# The skin tones each face is taken to (ITA° of the cheeks): "intermediate" to "dark" on the
# usual ITA scale (> 55 very light ... < -30 dark). A face already darker than a target is not
# lightened: that target is skipped for it.
MELANIN_TARGET_ITA = (10.0, -10.0, -30.0, -50.0)
MAX_MELANIN_OD = 2.0
NOISE_SIGMA_PX = 1.0  # the photo's own noise: the residual below a 1-px Gaussian, in linear light


def _to_linear(image: np.ndarray) -> np.ndarray:
    v = image.astype(np.float32) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _to_srgb(linear: np.ndarray) -> np.ndarray:
    v = np.clip(linear, 0.0, 1.0)
    s = np.where(v <= 0.0031308, 12.92 * v, 1.055 * v ** (1 / 2.4) - 0.055)
    return np.clip(np.round(s * 255.0), 0, 255).astype(np.uint8)


def skin_mask(image: np.ndarray, mesh: np.ndarray) -> np.ndarray:
    """0-1 float mask of the head: the mesh's oval and 0.6 eye distances round it, not the eyes.

    The margin takes the hairline and the hair round the face along (darker hair goes with
    darker skin), so no edge of the mask falls in or near a measured region: an edge there would
    be relief the face does not have, and hair left light would read as skin.
    """
    el, er = lm.eye_centres(mesh)
    d = float(np.hypot(*(er - el)))
    mask = np.zeros(image.shape[:2], np.uint8)
    hull = cv2.convexHull(mesh[:, :2].astype(np.float32)).astype(np.int32)
    cv2.fillConvexPoly(mask, hull, 1)
    grow = max(1, round(0.6 * d))
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    # The eyes keep their colour (sclera and iris have no epidermal melanin).
    for centre in (el, er):
        cv2.ellipse(
            mask, (round(centre[0]), round(centre[1])), (round(0.2 * d), round(0.08 * d)), 0, 0, 360, 0, -1
        )
    return cv2.GaussianBlur(mask.astype(np.float32), (0, 0), max(1.0, 0.03 * d))


def shot_noise_gain(linear: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per channel a, with noise variance = a x signal (shot noise), estimated on the skin itself.

    The residual below a 1-px Gaussian holds the photo's noise and the finest skin relief; the
    median of residual² / signal over the skin is a (generous) estimate of the noise gain.
    """
    skin = mask > 0.9
    out = []
    for c in range(3):
        plane = linear[..., c]
        res = plane - cv2.GaussianBlur(plane, (0, 0), NOISE_SIGMA_PX)
        # Var(x - G*x) = σ²(1 - 2 w0 + Σw²) for white noise; ≈ 0.76 σ² at a 1-px Gaussian.
        ratio = res[skin] ** 2 / np.maximum(plane[skin], 1e-4) / 0.76
        out.append(float(np.median(ratio)) if ratio.size else 0.0)
    return np.array(out, np.float32)


def add_melanin(
    image: np.ndarray, mesh: np.ndarray, od_red: float, *, seed: int = SEED, noise: bool = True
) -> np.ndarray:
    """The same face with more epidermal melanin: reflectance x 10^(-od·w_c) on the skin.

    (Shine is darkened with the skin, which a real darker skin would not do; oiliness is judged
    relative to the skin's colour and brightness, so the model and reality agree for it.) Then
    the photo's own shot noise is re-added at the darker level: darkening scales the existing noise by k, a camera photographing a darker
    face has noise of variance a·k·S, so the missing variance a·S·k(1 - k) is added (relative
    noise grows as 1/sqrt(k)).
    """
    linear = _to_linear(image)
    mask = skin_mask(image, mesh)
    gain = shot_noise_gain(linear, mask)
    k = 10.0 ** (-od_red * MELANIN_OD_BGR[None, None, :] * mask[..., None])
    darker = linear * k
    if noise:
        rng = np.random.default_rng(seed)
        extra = np.sqrt(np.maximum(gain[None, None, :] * linear * k * (1.0 - k), 0.0))
        darker = darker + rng.standard_normal(linear.shape).astype(np.float32) * extra
    return _to_srgb(darker)


def _ita_of_lab(lab: np.ndarray) -> float:
    lightness, b = lab[0] * 100 / 255, lab[2] - 128
    return math.degrees(math.atan2(lightness - 50, b))


def melanin_for_ita(image: np.ndarray, mesh: np.ndarray, target: float) -> float | None:
    """The added red-channel optical density that takes the cheeks' ITA° to target (bisection).

    None if the face is already at or below the target.
    """
    patches = np.concatenate([p.reshape(-1, 3) for p in _cheek_patches(image, mesh)])[None]
    linear = _to_linear(patches)

    def ita(od: float) -> float:
        lab = cv2.cvtColor(_to_srgb(linear * 10.0 ** (-od * MELANIN_OD_BGR)), cv2.COLOR_BGR2Lab)
        return _ita_of_lab(np.median(lab[0].astype(np.float32), axis=0))

    if ita(0.0) <= target:
        return None
    lo, hi = 0.0, MAX_MELANIN_OD
    for _ in range(14):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if ita(mid) > target else (lo, mid)
    return (lo + hi) / 2


def melanin_variants(image: np.ndarray, mesh: np.ndarray) -> dict[str, np.ndarray]:
    """The face with added melanin at each target ITA° it is lighter than, as BGR images."""
    out = {}
    for target in MELANIN_TARGET_ITA:
        od = melanin_for_ita(image, mesh, target)
        if od is not None:
            out[f"ita{target:+.0f}"] = add_melanin(image, mesh, od)
    return out


# Real change → (metric, sign of the expected score change).
TARGETS: dict[str, list[tuple[str, int]]] = {
    "red_papules": [("acne", -1)],
    "dark_spots": [("pigmentation", -1)],
    "cheek_flush": [("redness", -1)],
    "oily_shine": [("oiliness", -1)],
    "skin_smoothing": [("texture", 1), ("pores", 1)],
}


def _cheek_patches(image: np.ndarray, mesh: np.ndarray) -> list[np.ndarray]:
    """The two cheek patches ITA° is read from (0.75 eye distances below each eye)."""
    el, er = lm.eye_centres(mesh)
    d = float(np.hypot(*(er - el)))
    out = []
    for p in (el + np.array([0, 0.75 * d]), er + np.array([0, 0.75 * d])):
        x, y, r = int(p[0]), int(p[1]), max(2, int(0.12 * d))
        out.append(image[max(0, y - r) : y + r, max(0, x - r) : x + r])
    return out


def ita_degrees(image: np.ndarray, mesh: np.ndarray) -> float:
    """Individual Typology Angle of the cheeks: atan((L* - 50) / b*) in degrees."""
    vals = []
    for patch in _cheek_patches(image, mesh):
        lab = cv2.cvtColor(np.ascontiguousarray(patch), cv2.COLOR_BGR2Lab).astype(np.float32)
        vals.append(np.median(lab.reshape(-1, 3), axis=0))
    return _ita_of_lab(np.mean(vals, axis=0))


def spearman(x: list[float], y: list[float]) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    if len(x) < 3:
        return float("nan")

    def ranks(v: list[float]) -> np.ndarray:
        order = np.argsort(v, kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(len(v))
        vals = np.asarray(v)
        for u in np.unique(vals):
            idx = vals == u
            r[idx] = r[idx].mean()
        return r

    rx, ry = ranks(x), ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def _raws(analysis) -> dict[str, float]:
    """The raw (pre-mapping) value of every metric an analysis measured."""
    return {m: analysis.measurements[f"{m}.raw"] for m in METRICS if f"{m}.raw" in analysis.measurements}


def p90(values: list[float]) -> float:
    return float(np.percentile(values, 90)) if values else float("nan")


def _deltas(base: dict[str, float], var: dict[str, float]) -> dict[str, tuple[float, float]]:
    """metric → (the lower of the two readings, |Δ|) for the metrics both have."""
    return {m: (min(base[m], var[m]), abs(var[m] - base[m])) for m in METRICS if m in base and m in var}


def condition_benign(
    provider: LocalVisionProvider, image: np.ndarray, mesh: np.ndarray, changes: tuple[str, ...]
) -> dict[str, dict[str, dict[str, tuple[float, float]]]]:
    """Real change → benign change → metric → (lower reading, |Δ|): how repeatable a score is on
    a face where the metric finds something (papules, spots, a flush, shine, smoothed skin), where
    the ordinary faces of the set mostly read near 100. A condition photo that fails is left out."""
    out: dict[str, dict[str, dict[str, tuple[float, float]]]] = {}
    for condition, changed in real_change_images(image, mesh).items():
        base = provider.analyze_angle(angle="front", data=jpeg(changed))
        if not base.quality.passed:
            continue
        out[condition] = {}
        for name, data in benign_variants(changed).items():
            if name in changes:
                var = provider.analyze_angle(angle="front", data=data)
                if var.quality.passed:
                    out[condition][name] = _deltas(base.scores, var.scores)
    return out


def _bin_edges() -> list[tuple[float, float]]:
    return list(itertools.pairwise((0.0, *LEVEL_BINS, 100.0)))


def _bin_name(low: float, high: float) -> str:
    return f"{low:.0f}-{high:.0f}"


def _level_bin(lower: float) -> str:
    """The bin of a reading; 100 itself falls in the top bin."""
    return next((_bin_name(lo, hi) for lo, hi in _bin_edges() if lower < hi), _bin_name(*_bin_edges()[-1]))


def level_bands(pairs: dict[str, list[tuple[float, float]]]) -> dict[str, dict[str, list[float]]]:
    """metric → level bin → [n, p90, p95] of |Δ| over benign pairs whose lower reading is in the bin."""
    out: dict[str, dict[str, list[float]]] = {}
    for m, values in pairs.items():
        by_bin: dict[str, list[float]] = defaultdict(list)
        for lower, delta in values:
            by_bin[_level_bin(lower)].append(delta)
        out[m] = {
            b: [len(by_bin[b]), p90(by_bin[b]), float(np.percentile(by_bin[b], 95))]
            for b in _bin_names()
            if by_bin[b]
        }
    return out


MIN_LEVEL_PAIRS = 50  # fewer pairs in a bin than this: it takes the band of the bin above
WIDER_BY = 1.0  # a level band is shipped only where it is wider than the clear-face band by this


def proposed_level_bands(
    bins: dict[str, dict[str, list[float]]], clear: dict[str, float]
) -> dict[str, list[list[float]]]:
    """noise.LEVEL_BANDS from the binned p95s: per metric, [below, band] tightest first, each band
    at least the one above it (a lower reading is never held to a tighter band)."""
    out: dict[str, list[list[float]]] = {}
    for m, by_bin in bins.items():
        tiers: list[list[float]] = []
        above = clear.get(m, float("nan"))
        for low, high in reversed(_bin_edges()[:-1]):
            n, _, p95 = by_bin.get(_bin_name(low, high), [0, 0.0, 0.0])
            above = max(above, p95) if n >= MIN_LEVEL_PAIRS else above
            wider = above >= clear.get(m, float("nan")) + WIDER_BY
            if wider and (not tiers or round(above, 1) > tiers[-1][1]):  # an equal tier below adds nothing
                tiers.append([high, round(above, 1)])
        if tiers:
            out[m] = tiers[::-1]
    return out


def time_12mp(provider: LocalVisionProvider, image: np.ndarray) -> tuple[float, float]:
    """(ms to analyse, ms to fully decode) a 4000x3000 JPEG made from the photo."""
    big = cv2.resize(
        image,
        (3000, 4000) if image.shape[0] >= image.shape[1] else (4000, 3000),
        interpolation=cv2.INTER_CUBIC,
    )
    data = jpeg(big, 92)
    provider.analyze_angle(angle="front", data=data)
    runs = 5
    t = time.perf_counter()
    for _ in range(runs):
        provider.analyze_angle(angle="front", data=data)
    analyse = (time.perf_counter() - t) / runs * 1000
    t = time.perf_counter()
    for _ in range(runs):
        cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    full = (time.perf_counter() - t) / runs * 1000
    return analyse, full


def run(
    photo_dir: Path, *, changes: tuple[str, ...] = BENIGN_CHANGES, skip: frozenset[str] = frozenset()
) -> dict:
    """Every table's raw material for the photos in photo_dir (only the given benign changes)."""
    provider = LocalVisionProvider()
    files = sorted(p for p in photo_dir.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    accepted = 0
    flips: list[str] = []
    low: dict[str, int] = defaultdict(int)
    benign: dict[str, list[float]] = defaultdict(list)
    mirror: dict[str, list[float]] = defaultdict(list)
    per_variant: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    itas: list[float] = []
    by_metric: dict[str, list[float]] = defaultdict(list)
    ita_for_metric: dict[str, list[float]] = defaultdict(list)
    real: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    tone: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    tone_ita: dict[str, list[float]] = defaultdict(list)
    tone_flips: list[str] = []
    raws: dict[str, list[float]] = defaultdict(list)
    levels: dict[str, list[tuple[float, float]]] = defaultdict(list)
    # "condition: metric" → benign change → |Δ| of the condition's own metric
    on_condition: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    first_image = None
    records: list[dict] = []
    for path in files:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            continue
        if max(image.shape[:2]) > MAX_SIDE:
            # Phone uploads arrive at most this size after the app's own resize; also keeps the run short.
            f = MAX_SIDE / max(image.shape[:2])
            image = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        base = provider.analyze_angle(angle="front", data=jpeg(image))
        if not base.quality.passed:
            print(f"rejected {path.name}: {[p.code for p in base.quality.problems]}", file=sys.stderr)
            continue
        accepted += 1
        first_image = first_image if first_image is not None else image
        record: dict = {"photo": path.name, "base": _raws(base), "variants": {}}
        records.append(record)
        mesh = _mesh(image)
        ita = ita_degrees(image, mesh) if mesh is not None else float("nan")
        itas.append(ita)
        for m in METRICS:
            if m in base.scores:
                by_metric[m].append(base.scores[m])
                ita_for_metric[m].append(ita)
                raws[m].append(base.measurements.get(f"{m}.raw", float("nan")))
                if base.scores[m] < 30:
                    low[m] += 1
        for name, data in benign_variants(image).items():
            if name not in changes:
                continue
            var = provider.analyze_angle(angle="front", data=data)
            record["variants"][name] = _raws(var) if var.quality.passed else None
            if var.quality.passed != base.quality.passed:
                flips.append(f"{path.name}:{name}:{[p.code for p in var.quality.problems]}")
                continue
            for m, (lower, delta) in _deltas(base.scores, var.scores).items():
                benign[m].append(delta)
                per_variant[name][m].append(delta)
                levels[m].append((lower, delta))
                if name == "mirror":
                    mirror[m].append(delta)
        if mesh is None:
            continue
        record["ita"] = ita
        for name, data in real_changes(image, mesh).items() if "real" not in skip else ():
            var = provider.analyze_angle(angle="front", data=data)
            record["variants"][name] = _raws(var) if var.quality.passed else None
            if not var.quality.passed:
                flips.append(f"{path.name}:{name}:{[p.code for p in var.quality.problems]}")
                continue
            for m in METRICS:
                if m in base.scores and m in var.scores:
                    real[name][m].append(var.scores[m] - base.scores[m])
        record["tone"] = {}
        for name, darker in melanin_variants(image, mesh).items() if "tone" not in skip else ():
            var = provider.analyze_angle(angle="front", data=jpeg(darker))
            reached = ita_degrees(darker, mesh)
            record["tone"][name] = {"ita": reached, "raws": _raws(var) if var.quality.passed else None}
            tone_ita[name].append(reached)
            if not var.quality.passed:
                tone_flips.append(f"{path.name}:{name}:{[p.code for p in var.quality.problems]}")
                continue
            for m in METRICS:
                if m in base.scores and m in var.scores:
                    tone[name][m].append(var.scores[m] - base.scores[m])
        conditions = condition_benign(provider, image, mesh, changes) if "conditions" not in skip else {}
        for condition, by_change in conditions.items():
            own = {m for m, _ in TARGETS[condition]}
            for name, deltas in by_change.items():
                # Only the condition's own metrics: what a drawn condition does to the others
                # (white highlights read as wrinkles on dark skin) is the model's, not the skin's.
                for m in own & deltas.keys():
                    levels[m].append(deltas[m])
                    on_condition[f"{condition}: {m}"][name].append(deltas[m][1])
    timing = (
        time_12mp(provider, first_image)
        if first_image is not None and "timing" not in skip
        else (float("nan"), float("nan"))
    )
    benign_p95 = {m: float(np.percentile(benign[m], 95)) if benign[m] else float("nan") for m in METRICS}
    by_level = level_bands(levels)
    return {
        "photos": len(files),
        "accepted": accepted,
        "flips": flips,
        "low": {m: low[m] / max(1, len(by_metric[m])) for m in METRICS},
        "median_score": {
            m: statistics.median(by_metric[m]) if by_metric[m] else float("nan") for m in METRICS
        },
        "benign_p90": {m: p90(benign[m]) for m in METRICS},
        "benign_p95": benign_p95,
        "mirror_p90": {m: p90(mirror[m]) for m in METRICS},
        "variant_p90": {v: {m: p90(d[m]) for m in METRICS} for v, d in per_variant.items()},
        "ita_rho": {m: spearman(ita_for_metric[m], by_metric[m]) for m in METRICS},
        "itas": itas,
        "raw_quantiles": {
            m: [float(np.nanpercentile(raws[m], q)) for q in (10, 50, 90, 97)] if raws[m] else []
            for m in METRICS
        },
        "real": {k: {m: list(v) for m, v in d.items()} for k, d in real.items()},
        "condition_p90": {c: {v: p90(d) for v, d in by.items()} for c, by in on_condition.items()},
        "level_bands": by_level,
        "level_pairs": {m: [list(pair) for pair in pairs] for m, pairs in levels.items()},
        "level_bands_proposed": proposed_level_bands(by_level, benign_p95),
        "tone": {k: {m: list(v) for m, v in d.items()} for k, d in tone.items()},
        "tone_ita": dict(tone_ita),
        "tone_flips": tone_flips,
        "timing_ms": timing,
        "records": records,
    }


def rescore(r: dict, mappings: dict) -> dict:
    """The same results recomputed from the stored raw values with other score mappings."""
    metrics = [m for m in METRICS if m in mappings]
    out = {k: r[k] for k in ("photos", "accepted", "flips", "timing_ms", "itas", "records")}
    scores = defaultdict(list)
    itas = defaultdict(list)
    benign, mirror, per_variant = defaultdict(list), defaultdict(list), defaultdict(lambda: defaultdict(list))
    real = defaultdict(lambda: defaultdict(list))
    from app.providers.vision.metrics import overall_score

    def scored(raws: dict) -> dict:
        out = {m: mappings[m].score(v) for m, v in raws.items() if m in mappings}
        if out:
            out["overall"] = overall_score(out)
        return out

    metrics = [*metrics, "overall"]
    tone = defaultdict(lambda: defaultdict(list))
    tone_ita = defaultdict(list)
    for rec in r["records"]:
        base = scored(rec["base"])
        for name, t in rec.get("tone", {}).items():
            tone_ita[name].append(t["ita"])
            if t["raws"] is None:
                continue
            var = scored(t["raws"])
            for m in metrics:
                if m in base and m in var:
                    tone[name][m].append(var[m] - base[m])
        for m, v in base.items():
            scores[m].append(v)
            itas[m].append(rec.get("ita", float("nan")))
        for name, raws in rec["variants"].items():
            if raws is None:
                continue
            var = scored(raws)
            for m in metrics:
                if m in base and m in var:
                    delta = var[m] - base[m]
                    if name in TARGETS:
                        real[name][m].append(delta)
                    else:
                        benign[m].append(abs(delta))
                        per_variant[name][m].append(abs(delta))
                        if name == "mirror":
                            mirror[m].append(abs(delta))
    nan = float("nan")
    out["low"] = {m: sum(v < 30 for v in scores[m]) / max(1, len(scores[m])) for m in METRICS}
    out["median_score"] = {m: statistics.median(scores[m]) if scores[m] else nan for m in METRICS}
    out["benign_p90"] = {m: p90(benign[m]) for m in METRICS}
    out["benign_p95"] = {m: float(np.percentile(benign[m], 95)) if benign[m] else nan for m in METRICS}
    out["mirror_p90"] = {m: p90(mirror[m]) for m in METRICS}
    out["variant_p90"] = {v: {m: p90(d[m]) for m in METRICS} for v, d in per_variant.items()}
    out["ita_rho"] = {m: spearman(itas[m], scores[m]) for m in METRICS}
    out["real"] = {k: dict(d) for k, d in real.items()}
    out["tone"] = {k: dict(d) for k, d in tone.items()}
    out["tone_ita"] = dict(tone_ita)
    out["tone_flips"] = r.get("tone_flips", [])
    return out


def report(r: dict) -> str:
    """The issue's tables in Markdown."""
    lines = [
        f"photos: {r['photos']}, accepted as sent: {r['accepted']} ({100 * r['accepted'] / max(1, r['photos']):.0f}%)",
        f"quality verdict flipped by a benign change: {len(r['flips'])}",
        "",
        "| metric | median | < 30 | p90 |Δ| benign | p95 (band) | p90 |Δ| mirror | rho with ITA° |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in METRICS:
        lines.append(
            f"| {m} | {r['median_score'][m]:.1f} | {100 * r['low'][m]:.0f}% | {r['benign_p90'][m]:.1f} "
            f"| {r['benign_p95'][m]:.1f} | {r['mirror_p90'][m]:.1f} | {r['ita_rho'][m]:+.2f} |"
        )
    lines += [
        "",
        "| real change | metric | hit rate (≥ 5 right way) | median Δ | signal ÷ noise | worst cross-talk |",
        "|---|---|---|---|---|---|",
    ]
    for change, targets in TARGETS.items():
        deltas = r["real"].get(change, {})
        for metric, sign in targets:
            d = deltas.get(metric, [])
            if not d:
                continue
            hits = sum(1 for v in d if sign * v >= HIT_POINTS) / len(d)
            med = statistics.median(d)
            noise = r["benign_p90"][metric]
            snr = abs(med) / noise if noise > 0 else float("inf")
            own = {t for t, _ in targets}
            others = {
                m: statistics.median([abs(v) for v in vs]) for m, vs in deltas.items() if m not in own and vs
            }
            worst = max(others.items(), key=lambda kv: kv[1]) if others else ("-", 0.0)
            ratio = worst[1] / abs(med) if med else float("inf")
            lines.append(
                f"| {change} | {metric} | {100 * hits:.0f}% | {med:+.1f} | {snr:.1f} | {worst[0]} {worst[1]:.1f} ({ratio:.2f} of target) |"
            )
    if r.get("tone"):
        lines += [
            "",
            "Added melanin (same face, skin only, shot noise re-added): p90 |Δ score| from the photo as sent",
            "",
            "| target ITA° | photos | median ITA° reached | " + " | ".join(METRICS) + " |",
            "|---" * (len(METRICS) + 3) + "|",
        ]
        tones = sorted(r["tone"].items(), key=lambda kv: -float(kv[0].removeprefix("ita")))
        for name, d in tones:
            reached = statistics.median(r["tone_ita"][name]) if r["tone_ita"].get(name) else float("nan")
            lines.append(
                f"| {name.removeprefix('ita')} | {len(r['tone_ita'].get(name, []))} | {reached:.0f} | "
                + " | ".join(f"{p90([abs(v) for v in d.get(m, [])]):.1f}" for m in METRICS)
                + " |"
            )
        lines.append(
            "| median signed Δ at the darkest | | | "
            + " | ".join(
                f"{statistics.median(d[m]):+.1f}" if (d := tones[-1][1]).get(m) else "-" for m in METRICS
            )
            + " |"
        )
    if r.get("tone_flips"):
        lines += ["", "quality verdicts lost at a darker tone: " + "; ".join(r["tone_flips"][:20])]
    analyse, full = r["timing_ms"]
    lines += ["", f"12 MP JPEG: analysis {analyse:.0f} ms, full decode {full:.0f} ms ({analyse / full:.2f}x)"]
    lines += _table_head("p90 |Δ| per benign change:", ["change", *METRICS])
    for v, d in r["variant_p90"].items():
        lines.append(f"| {v} | " + " | ".join(f"{d[m]:.1f}" for m in METRICS) + " |")
    if r.get("condition_p90"):
        columns = list(r["condition_p90"])
        lines += _table_head(
            "p90 |Δ| of a real change's own metric under each benign change, on the photo with that change:",
            ["change", *columns],
        )
        for v in next(iter(r["condition_p90"].values()), {}):
            cells = [f"{r['condition_p90'][c].get(v, float('nan')):.1f}" for c in columns]
            lines.append(f"| {v} | " + " | ".join(cells) + " |")
    if r.get("level_bands"):
        lines += _table_head(
            "p95 |Δ| (pairs) by the lower of the two readings: every ordinary photo's benign pairs, and each"
            " real change's photo for its own metric(s):",
            ["metric", *_bin_names()],
        )
        for m, bins in r["level_bands"].items():
            cells = [f"{bins[b][2]:.1f} ({bins[b][0]:.0f})" if b in bins else "-" for b in _bin_names()]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
    if r.get("level_bands_proposed") is not None:
        lines += ["", f"noise.LEVEL_BANDS from these: {r['level_bands_proposed']}"]
    if r["flips"]:
        lines += ["", "flips: " + "; ".join(r["flips"][:20])]
    return "\n".join(lines)


def _table_head(title: str, columns: list[str]) -> list[str]:
    """A titled Markdown table's first lines (a blank line before and after the title)."""
    return ["", title, "", "| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]


def _bin_names() -> list[str]:
    return [_bin_name(lo, hi) for lo, hi in _bin_edges()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo_dir", type=Path)
    parser.add_argument("--json", type=Path, help="write the raw results (bands, raw quantiles) here")
    parser.add_argument(
        "--rescore", action="store_true", help="photo_dir is a --json file: re-map its raw values"
    )
    parser.add_argument(
        "--changes",
        default=",".join(BENIGN_CHANGES),
        help="comma-separated benign changes to run (default: all ten)",
    )
    parser.add_argument("--skip", default="", help=f"comma-separated parts to leave out: {', '.join(PARTS)}")
    args = parser.parse_args()
    changes = tuple(c for c in args.changes.split(",") if c)
    skip = frozenset(s for s in args.skip.split(",") if s)
    unknown = (set(changes) - set(BENIGN_CHANGES)) | (skip - set(PARTS))
    if unknown:
        parser.error(f"unknown changes or parts: {sorted(unknown)}")
    if args.rescore:
        from app.providers.vision.metrics import MAPPINGS

        results = rescore(json.loads(args.photo_dir.read_text()), MAPPINGS)
    else:
        results = run(args.photo_dir, changes=changes, skip=skip)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
