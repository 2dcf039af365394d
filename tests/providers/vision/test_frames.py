"""The analyser's decode: Pillow's for RGB JPEGs (strict, so it doubles as the upload's check),
with the very pixels OpenCV's decode gave."""

import io

import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image

from app.providers.vision.base import AnalysisFailedError
from app.providers.vision.frames import REDUCED_FLAGS, decode
from tests.images import encode


def photo(width: int, height: int, *, quality: int = 90, subsampling: int = 2) -> bytes:
    """The noisy astronaut at a size, as a JPEG (odd sizes test the DCT scale's rounding)."""
    rgb = cv2.resize(skimage.data.astronaut(), (width, height), interpolation=cv2.INTER_CUBIC)
    grain = np.random.default_rng(1).normal(0.0, 4.0, rgb.shape[:2])[..., None]
    rgb = np.clip(rgb + grain, 0, 255).astype(np.uint8)
    return encode(rgb, "JPEG", quality=quality, subsampling=subsampling)


@pytest.mark.parametrize(("width", "height"), [(866, 1155), (1501, 2003), (3000, 4000)])
@pytest.mark.parametrize("subsampling", [0, 2])
def test_the_decode_has_opencvs_pixels_at_every_dct_scale(width: int, height: int, subsampling: int) -> None:
    data = photo(width, height, subsampling=subsampling)
    for reduction, flag in REDUCED_FLAGS.items():
        min_side = min(width, height) // reduction
        decoded = decode(data=data, min_side=min_side)
        assert decoded.reduction == reduction
        expected = cv2.imdecode(np.frombuffer(data, np.uint8), flag | cv2.IMREAD_IGNORE_ORIENTATION)
        assert decoded.image.shape == expected.shape
        assert np.array_equal(decoded.image, expected)


def _damaged(kind: str, data: bytes) -> bytes:
    damaged = bytearray(data)
    if kind == "huffman table":
        at = data.find(b"\xff\xc4")
        damaged[at + 5 : at + 20] = b"\xee" * 15
    elif kind == "scan header":
        damaged[data.find(b"\xff\xda") + 4] = 0x07
    elif kind == "garbage in the coded data":  # decodes (to garbage): no decoder can tell
        middle = len(data) // 2
        damaged[middle : middle + 400] = bytes(range(200)) * 2
    else:
        damaged = damaged[: int(len(data) * float(kind))]
    return bytes(damaged)


def _request_check_refuses(data: bytes) -> bool:
    """The one-call upload request's own check until now: a 1/8-scale Pillow decode."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (image.width // 8, image.height // 8))
            image.load()
    except OSError:
        return True
    return False


@pytest.mark.parametrize("kind", ["huffman table", "scan header", "garbage in the coded data", "0.5", "0.95"])
def test_the_decode_refuses_what_the_uploads_own_check_refused(kind: str) -> None:
    damaged = _damaged(kind, photo(866, 1155))
    assert Image.open(io.BytesIO(damaged)).size == (866, 1155)  # the header checks pass
    for min_side in (720, 200):  # decoded at full size and at 1/4
        if _request_check_refuses(damaged):
            with pytest.raises(AnalysisFailedError, match="could not be decoded"):
                decode(data=damaged, min_side=min_side)
            refused = True
        else:
            decode(data=damaged, min_side=min_side)
            refused = False
    assert kind == "garbage in the coded data" or refused


def test_grey_jpegs_still_decode_to_three_channels() -> None:
    grey = cv2.cvtColor(cv2.resize(skimage.data.astronaut(), (800, 1000)), cv2.COLOR_RGB2GRAY)
    data = encode(grey, "JPEG", quality=90)
    decoded = decode(data=data, min_side=720)
    assert decoded.image.shape == (1000, 800, 3)
