"""Spot detection against photo noise: the planes of a synthetic, evenly lit patch of skin.

A darker face in the same light holds less light, so its photo noise is larger in log units;
noise must not read as red blobs, while papules on the same noisy skin still do.
"""

import numpy as np

from app.providers.vision.planes import Planes, compute_planes, skin_reference, srgb_to_linear
from app.providers.vision.regions import CROP_H, CROP_W

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
    return compute_planes(bgr=bgr, valid=ALL_SKIN, reference=reference, face=ALL_SKIN)


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
