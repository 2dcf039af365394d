"""Spots and fine relief against photo noise: the planes of synthetic, evenly lit skin.

A darker face in the same light holds less light, so its photo noise is larger in log units;
noise must not read as red blobs, while papules on the same noisy skin still do, and it must not
read as coarser texture or deeper pores, while a smoothing filter still reads as smoother skin.
"""

import cv2
import numpy as np
import pytest

from app.providers.vision.metrics import MAPPINGS, raw_hydration, raw_pores, raw_texture
from app.providers.vision.noise import BANDS
from app.providers.vision.planes import (
    SIGMA_FINE,
    SIGMA_NOISE_PROBE,
    SIGMA_PIT,
    SIGMA_PORE,
    SIGMA_RELIEF_FINE,
    Planes,
    compute_planes,
    make_regions,
    noise_gains,
    skin_reference,
    srgb_to_linear,
)
from app.providers.vision.regions import CROP_H, CROP_W, Alignment, area_step, warp_face

# Darker skin (sRGB BGR), as ITA° ≈ -30 cheeks look in an ordinary indoor photo.
DARK_SKIN_BGR = (70.0, 95.0, 140.0)
# The harness's red papule: green and blue absorbed by blood, red barely (bench/vision_trust.py).
PAPULE_GAINS_BGR = (0.72, 0.70, 1.04)
PAPULES = ((60, 80), (120, 100), (90, 150))
ALL_SKIN = np.ones((CROP_H, CROP_W), bool)


def planes_of(*, noise_levels: float, papules: tuple[tuple[int, int], ...] = ()) -> Planes:
    """Planes of a flat patch of dark skin with papules (sigma 2 px) and white noise in 8-bit levels."""
    rng = np.random.default_rng(20261202)
    image = np.ones((CROP_H, CROP_W, 3), np.float32) * np.array(DARK_SKIN_BGR, np.float32)
    yy, xx = np.mgrid[0:CROP_H, 0:CROP_W]
    for x, y in papules:
        alpha = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 2.0**2))[..., None]
        image *= 1 + alpha * (np.array(PAPULE_GAINS_BGR, np.float32) - 1)
    image += rng.normal(0.0, noise_levels, image.shape).astype(np.float32)
    bgr = np.clip(np.round(image), 0, 255).astype(np.uint8)
    reference = skin_reference(srgb_to_linear(bgr), ALL_SKIN)
    return compute_planes(bgr=bgr, valid=ALL_SKIN, reference=reference, face=ALL_SKIN, shrink=1.0)


def red_share(planes: Planes) -> float:
    """Acne's raw value over the patch: soft % of skin in red blobs."""
    return 100.0 * float(planes.red_soft[planes.skin].mean())


def test_strong_photo_noise_on_dark_skin_reads_as_almost_no_acne() -> None:
    # Noise of sd 6 levels is ≈ 6 % of the green channel here: with a fixed threshold (local-mesh-4) this
    # patch read 1.7 % of skin as red blobs (59 blobs), about a face with visible acne.
    noisy = planes_of(noise_levels=6.0)
    assert red_share(noisy) < 0.5
    assert sum(b.kind == "red_blob" for b in noisy.blobs) <= 10


def test_papules_on_the_same_noisy_skin_are_still_found() -> None:
    clean = planes_of(noise_levels=0.0, papules=PAPULES)
    noisy, noise_only = planes_of(noise_levels=6.0, papules=PAPULES), planes_of(noise_levels=6.0)
    for planes in (clean, noisy):
        found = [b for b in planes.blobs if b.kind == "red_blob"]
        for x, y in PAPULES:
            assert any(abs(b.x - x) <= 2 and abs(b.y - y) <= 2 for b in found), (x, y)
    assert red_share(clean) > 0.15
    assert red_share(noisy) - red_share(noise_only) > 0.1


# ---- fine relief against photo noise (texture and pores, local-mesh-6) ----------------------------

SKIN_RELIEF_PX = 1.2  # the fine relief's scale in crop px (≈ mm), the texture band's own
NOISE_FREE, NOISY = 0.0, 4.0  # photo noise, sd in 8-bit levels (≈ 4 % of green on this dark skin)


def relief_photo(
    *,
    shrink: float,
    noise_levels: float,
    smoothed: bool = False,
    skin_bgr: tuple[float, float, float] = DARK_SKIN_BGR,
) -> tuple[np.ndarray, Alignment]:
    """A dark-skin "photo" with fine and coarse relief, seen at `shrink` photo px per crop px.

    The relief is the same for every noise level and seed; `smoothed` blurs it the way a beauty
    filter removes fine relief. Noise is white in the photo's pixels, as a sensor's is.
    """
    h, w = int(CROP_H * shrink) + 40, int(CROP_W * shrink) + 40
    rng = np.random.default_rng(7)
    fine = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), SKIN_RELIEF_PX * shrink)
    coarse = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 3.0 * shrink)
    relief = 1.5 * fine / fine.std() + 2.0 * coarse / coarse.std()  # log-units
    image = np.ones((h, w, 3), np.float32) * np.array(skin_bgr, np.float32)
    image *= np.exp(relief / 100.0)[..., None]
    if smoothed:
        image = cv2.GaussianBlur(image, (0, 0), 0.8 * shrink)
    image += np.random.default_rng(1).normal(0.0, noise_levels, image.shape).astype(np.float32)
    photo = np.clip(np.round(image), 0, 255).astype(np.uint8)
    return photo, Alignment(eye_mid=(w / 2, h / 2 - 20), roll=0.05, scale=1.0 / shrink)


def relief_raws(*, shrink: float, noise_levels: float, smoothed: bool = False) -> dict[str, float]:
    """Texture's and pores' raw values of the whole crop of relief_photo (as one region)."""
    photo, alignment = relief_photo(shrink=shrink, noise_levels=noise_levels, smoothed=smoothed)
    crop, valid = warp_face(photo, alignment)
    reference = skin_reference(srgb_to_linear(crop), valid)
    planes = compute_planes(bgr=crop, valid=valid, reference=reference, face=valid, shrink=shrink)
    region = make_regions(planes=planes, masks={"forehead": valid}, valid=valid)["forehead"]
    return {"texture": raw_texture(planes, region), "pores": raw_pores(planes, region)}


# The most noise may move each metric (raw units) on the same skin. Without the noise taken out
# (local-mesh-5's measures), sd 4 levels read this skin as coarser by texture 45 / 28 / 9 and pores
# 66 / 47 / 17 at these three photo sizes; now ≤ 4 for texture, and for pores 15 / 2 / 5 (an
# enlarged photo's noise is correlated between crop pixels, and the pit spread, read on one side,
# takes it out less exactly).
NOISE_MOVES_AT_MOST = {"texture": 8.0, "pores": 16.0}


@pytest.mark.parametrize("shrink", [0.8, 1.6, 2.5])
def test_photo_noise_on_the_same_skin_barely_moves_texture_and_pores(shrink: float) -> None:
    clean = relief_raws(shrink=shrink, noise_levels=NOISE_FREE)
    noisy = relief_raws(shrink=shrink, noise_levels=NOISY)
    for metric, at_most in NOISE_MOVES_AT_MOST.items():
        assert abs(noisy[metric] - clean[metric]) < at_most, metric


@pytest.mark.parametrize("shrink", [0.8, 1.6, 2.5])
def test_smoothed_skin_still_reads_smoother_through_the_same_noise(shrink: float) -> None:
    # Without the noise taken out it read only 4-11 raw units smoother through this noise; now 14-27.
    rough = relief_raws(shrink=shrink, noise_levels=NOISY)
    smooth = relief_raws(shrink=shrink, noise_levels=NOISY, smoothed=True)
    for metric in ("texture", "pores"):
        assert rough[metric] - smooth[metric] > 10.0, metric


@pytest.mark.parametrize("shrink", [0.7, 1.0, 1.3, 1.9, 2.0, 3.4])
def test_the_noise_model_matches_white_noise_sent_through_the_crop(shrink: float) -> None:
    # noise_gains computes in one dimension what the box average and the bilinear warp do to a
    # photo's white noise; here the noise is sent through warp_face itself. The photo's size is a
    # whole number of boxes: otherwise each box is slightly wider than area_step px, neighbouring
    # boxes share a pixel, and the bands hold up to ≈ 30 % more noise than the model says (only
    # for photos averaged down, whose noise the box has already divided by area_step).
    k = area_step(shrink)
    size = (int(max(CROP_W, CROP_H) * shrink) + 40) // k * k
    noise = np.random.default_rng(3).standard_normal((size, size)).astype(np.float32)
    crop, _ = warp_face(noise, Alignment(eye_mid=(size / 2, size / 2), roll=0.05, scale=1.0 / shrink))
    crop = crop[10:-10, 10:-10]

    def blur(sigma: float) -> np.ndarray:
        return crop if sigma == 0 else cv2.GaussianBlur(crop, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)

    probe = (crop - blur(SIGMA_NOISE_PROBE)).var()
    texture_gain, pit_gain = noise_gains(shrink)
    assert (blur(SIGMA_RELIEF_FINE) - blur(SIGMA_PORE)).var() / probe == pytest.approx(texture_gain, rel=0.12)
    assert (blur(SIGMA_FINE) - blur(SIGMA_PIT)).var() / probe == pytest.approx(pit_gain, rel=0.12)


# ---- the white point on a bearded face (local-mesh-7) -------------------------------------------

# Stubble: dark, grey-brown hair over the skin, as the bearded portraits of the benchmark set show.
STUBBLE_BGR = (40.0, 45.0, 55.0)


def bearded_patch(*, beard_share: float) -> np.ndarray:
    """Dark skin whose lower `beard_share` of rows is stubble (dark hair with coarse relief)."""
    rng = np.random.default_rng(7)
    image = np.ones((CROP_H, CROP_W, 3), np.float32) * np.array(DARK_SKIN_BGR, np.float32)
    start = round(CROP_H * (1.0 - beard_share))
    hair = np.array(STUBBLE_BGR, np.float32) * (1 + 0.3 * rng.standard_normal((CROP_H - start, CROP_W, 1)))
    image[start:] = hair.astype(np.float32)
    image += rng.normal(0.0, 2.0, image.shape).astype(np.float32)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("beard_share", [0.0, 0.3, 0.6])
def test_a_beard_over_most_of_the_face_is_not_taken_for_its_skin_tone(beard_share: float) -> None:
    # Before local-mesh-7 the white point was the regions' median: with a beard over 60 % of
    # them it was the beard's colour, and the skin read as too bright to be skin.
    bgr = bearded_patch(beard_share=beard_share)
    skin_rows = round(CROP_H * (1.0 - beard_share))
    reference = skin_reference(srgb_to_linear(bgr), ALL_SKIN)
    skin_median = np.median(srgb_to_linear(bgr[:skin_rows]).reshape(-1, 3), axis=0)
    assert np.allclose(reference, skin_median, rtol=0.03)
    planes = compute_planes(bgr=bgr, valid=ALL_SKIN, reference=reference, face=ALL_SKIN, shrink=1.0)
    away_from_edges = planes.skin[10 : skin_rows - 10, 10:-10]
    assert away_from_edges.mean() > 0.98
    if beard_share:
        assert planes.skin[skin_rows + 10 :].mean() < 0.1  # stubble is not skin


# ---- hydration's relief against photo noise (session 9) -------------------------------------------

# The same face in the same light on lighter skin (sRGB BGR, ITA° ≈ +40 cheeks).
LIGHT_SKIN_BGR = (150.0, 175.0, 215.0)
HYDRATION_NOISE_LEVELS = 4.0  # sd in 8-bit levels, alike on both tones: the camera's, not the skin's


def hydration_score(*, skin_bgr: tuple[float, float, float], shrink: float) -> float:
    """Hydration's score of relief_photo's skin (the same relief in log-units) on this tone."""
    photo, alignment = relief_photo(shrink=shrink, noise_levels=HYDRATION_NOISE_LEVELS, skin_bgr=skin_bgr)
    crop, valid = warp_face(photo, alignment)
    reference = skin_reference(srgb_to_linear(crop), valid)
    planes = compute_planes(bgr=crop, valid=valid, reference=reference, face=valid, shrink=shrink)
    region = make_regions(planes=planes, masks={"forehead": valid}, valid=valid)["forehead"]
    return MAPPINGS["hydration"].score(raw_hydration(planes, region))


@pytest.mark.parametrize("shrink", [0.8, 1.6, 2.5])
def test_the_same_relief_on_darker_skin_reads_as_hydrated_within_the_band(shrink: float) -> None:
    # Grey-level noise is alike on both tones, so in log-units it is larger on the darker patch
    # (≈ 4 % of its green against ≈ 2 %). Little of it reaches the 1.6-6 px relief (the G1.6 blur
    # averages it away), so hydration must not read the darker patch as rougher; it reads them
    # within 0.6 points of each other. Hydration's correlation with ITA° on the benchmark set is
    # therefore not the photo's noise (docs/BENCHMARKS.md, "Hydration and photo noise, session 9").
    light = hydration_score(skin_bgr=LIGHT_SKIN_BGR, shrink=shrink)
    dark = hydration_score(skin_bgr=DARK_SKIN_BGR, shrink=shrink)
    assert abs(light - dark) < BANDS["hydration"], (light, dark)
