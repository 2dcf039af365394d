"""A photo on its way through the local analyser: decoded pixels, the face found in it, and
the upright fixed-scale crop the quality gate and the metrics read."""

import io
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from app.providers.vision import landmarks as lm
from app.providers.vision.base import AnalysisFailedError
from app.providers.vision.regions import Alignment
from app.scans.jpeg import exif_orientation

# EXIF orientation → the turn that shows the coded pixels upright (as viewers apply it).
_UPRIGHT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda image: cv2.flip(image, 1),
    3: lambda image: cv2.rotate(image, cv2.ROTATE_180),
    4: lambda image: cv2.flip(image, 0),
    5: cv2.transpose,
    6: lambda image: cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE),
    7: lambda image: cv2.rotate(cv2.transpose(image), cv2.ROTATE_180),
    8: lambda image: cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE),
}
REDUCED_FLAGS: dict[int, int] = {
    1: cv2.IMREAD_COLOR,
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}


@dataclass(frozen=True)
class Decoded:
    """A decoded photo: BGR pixels, possibly reduced, and the original size."""

    image: np.ndarray
    width: int
    height: int
    reduction: int

    @property
    def scale(self) -> float:
        """Original pixels per decoded pixel."""
        return self.width / self.image.shape[1]


def decode_header(data: bytes) -> tuple[str, int, int, int]:
    """Format, coded size and EXIF orientation (1 when none) from the header only."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return str(img.format), img.width, img.height, exif_orientation(img) or 1
    except Image.DecompressionBombError as exc:
        raise AnalysisFailedError("The photo has too many pixels.", code="image_too_large") from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise AnalysisFailedError("The photo could not be decoded.", code="undecodable_image") from exc


def decode(*, data: bytes, min_side: int | None) -> Decoded:
    """Decode JPEG/PNG bytes; JPEGs are DCT-downscaled by 2/4/8 while the short side stays ≥ min_side.

    An RGB JPEG (every photo intake stores) is decoded by Pillow, the decoder of intake's
    validity check, and refuses what that check refuses (a damaged table or scan header, a
    truncated stream): so a one-call upload's request, which used to decode the photo once
    more for the check alone, takes this decode's word (`AnalysisWorker.start_early`). Pillow
    and OpenCV both bundle libjpeg-turbo: the pixels are bit-identical to cv2.imdecode's at
    every DCT scale (tests/providers/vision/test_frames.py).
    """
    if not data:
        raise AnalysisFailedError("The photo is empty.", code="undecodable_image")
    fmt, width, height, orientation = decode_header(data)
    reduction = 1
    if fmt == "JPEG" and min_side is not None:
        # libjpeg scales in the DCT domain: decoding 1/4 of a 12 MP JPEG costs a fraction of it.
        reduction = next((f for f in (8, 4, 2) if min(width, height) // f >= min_side), 1)
    image = _decode_rgb_jpeg(data, reduction) if fmt == "JPEG" else None
    if image is None:
        # The turn is applied here, after the reduced decode (cheap on the small frame), from the
        # orientation read above, so the decoded and the stated sizes always agree.
        flags = REDUCED_FLAGS[reduction] | cv2.IMREAD_IGNORE_ORIENTATION
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None:
        raise AnalysisFailedError("The photo could not be decoded.", code="undecodable_image")
    turn = _UPRIGHT.get(orientation)
    if turn is not None:
        image = np.ascontiguousarray(turn(image))
        if orientation >= 5:
            width, height = height, width
    return Decoded(image=image, width=width, height=height, reduction=reduction)


def _decode_rgb_jpeg(data: bytes, reduction: int) -> np.ndarray | None:
    """An RGB JPEG's coded pixels (BGR, not turned) at 1/reduction scale, decoded strictly; None
    for other JPEGs (grey, CMYK), which cv2 converts as before."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.mode != "RGB":
                return None
            width, height = img.size
            if reduction > 1:
                img.draft("RGB", (width // reduction, height // reduction))
            img.decodermaxblock = len(data)  # one decoder call (see app/scans/intake.py `_inspect`)
            img.load()
            rgb = np.asarray(img)
    except Image.DecompressionBombError as exc:
        raise AnalysisFailedError("The photo has too many pixels.", code="image_too_large") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or damaged coded data
        raise AnalysisFailedError("The photo could not be decoded.", code="undecodable_image") from exc
    expected = (-(-height // reduction), -(-width // reduction), 3)
    if rgb.shape != expected:  # another DCT scale than cv2's (never seen): cv2 decodes it, as before
        return None
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


@dataclass(frozen=True)
class Face:
    """A located face: its mesh in decoded pixels, alignment, and how many faces are alike."""

    mesh: np.ndarray
    alignment: Alignment
    box: tuple[float, float, float, float]
    similar_faces: int


@dataclass(frozen=True)
class Prepared:
    """A face's crop with everything the quality gate and the metrics need."""

    crop: np.ndarray
    valid: np.ndarray
    polygons: dict[str, np.ndarray]
    masks: dict[str, np.ndarray]
    face: np.ndarray
    reference: np.ndarray
    shrink: float  # photo px per crop px: how the photo's own noise reaches the crop


def yaw_ratio(points: np.ndarray) -> float:
    """Where the nose tip sits between the face's contour points: 0.5 facing the camera."""
    left, right = points[lm.CONTOUR_L][0], points[lm.CONTOUR_R][0]
    return float((points[lm.NOSE_TIP][0] - left) / max(1e-6, right - left))
