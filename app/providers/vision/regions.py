"""The face frame, the normalised face crop, the skin regions in it, and the skin-pixel mask.

Geometry is expressed in fractions of a canonical square face box (x rightwards, y downwards),
so it does not depend on the photo's resolution. The box is placed by the eyes when both are
found (which also undoes head roll), else it is the Haar detection box. docs/VISION.md has the
layout and why each region sits where it does.
"""

import math
from dataclasses import dataclass

import cv2
import numpy as np

# Where the eyes sit in the canonical box, measured on Haar boxes of upright frontal faces:
# eye centres 0.46 of the box width apart, on the line y = 0.37.
CANON_EYE_DISTANCE = 0.46
CANON_EYE_LINE = 0.37

# (x0, y0, x1, y1) in canonical box fractions. "left"/"right" are as seen in the photo (image
# left), not the subject's own left.
FRONT_LAYOUT: dict[str, tuple[float, float, float, float]] = {
    "forehead": (0.25, 0.10, 0.75, 0.25),
    "under_eye_left": (0.18, 0.43, 0.40, 0.52),
    "under_eye_right": (0.60, 0.43, 0.82, 0.52),
    "left_cheek": (0.14, 0.53, 0.36, 0.75),
    "right_cheek": (0.64, 0.53, 0.86, 0.75),
    "nose": (0.42, 0.40, 0.58, 0.64),
    "chin": (0.36, 0.94, 0.64, 1.06),
}

# A profile detection shows one cheek, roughly in the middle of the box; the region is named
# after the photo's angle ("left" photo → left_cheek).
PROFILE_CHEEK: tuple[float, float, float, float] = (0.32, 0.45, 0.68, 0.78)

# The normalised crop in canonical box fractions: no region uses the box's sides (ears,
# background) or top edge (hair), and the chin lies just below the box. Fewer pixels also
# means faster metrics.
CROP_LEFT, CROP_TOP, CROP_RIGHT, CROP_BOTTOM = 0.12, 0.08, 0.88, 1.08
# Above this shrink factor the photo is first downsampled with pixel averaging (INTER_AREA):
# bilinear warping alone would alias fine skin texture into fake "pores".
MAX_DIRECT_SHRINK = 1.25

# YCrCb skin test (after Chai & Ngan 1999). No upper Cr bound on purpose: very red skin must
# still count as skin, or the redness metric would ignore the reddest pixels.
SKIN_CR_MIN = 133
SKIN_CB_MIN = 77
SKIN_CB_MAX = 127
SKIN_Y_MIN = 40

# The face's own tone, taken in the middle of the face (cheeks, nose, upper lip: rarely hidden
# by hair), refines the generic YCrCb test: hair, brows and shadows that pass YCrCb are dropped
# when far darker, much less red or much more yellow than this reference. Redder is always
# allowed (redness and acne are what we measure).
TONE_REFERENCE: tuple[float, float, float, float] = (0.30, 0.45, 0.70, 0.75)
TONE_MAX_DARKER = 30.0  # L* units
TONE_MAX_LESS_RED = 6.0  # a* units
TONE_MAX_MORE_YELLOW = 8.0  # b* units

# With fewer skin pixels than this (≈ 15 mm² at the normalised scale) a region is measured on
# all its pixels rather than on a handful; measurements record skin_fraction.<region>.
MIN_SKIN_PIXELS = 30


@dataclass(frozen=True)
class Rect:
    """An integer pixel rectangle, half-open: [x0, x1) x [y0, y1)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def area(self) -> int:
        """Number of pixels covered."""
        return max(0, self.x1 - self.x0) * max(0, self.y1 - self.y0)

    def slices(self) -> tuple[slice, slice]:
        """Numpy (rows, cols) slices."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)


@dataclass(frozen=True)
class FaceFrame:
    """The canonical face box in an image: centre, side length in px, and roll in radians."""

    cx: float
    cy: float
    size: float
    angle: float = 0.0

    @classmethod
    def from_box(cls, box: tuple[int, int, int, int]) -> "FaceFrame":
        """The detector's box taken as is (no roll)."""
        x, y, w, h = box
        return cls(cx=x + w / 2, cy=y + h / 2, size=float(w))

    @classmethod
    def from_eyes(cls, left: tuple[float, float], right: tuple[float, float]) -> "FaceFrame":
        """The box that puts these eye centres (image left, image right) at their canonical place."""
        dx, dy = right[0] - left[0], right[1] - left[1]
        size = math.hypot(dx, dy) / CANON_EYE_DISTANCE
        angle = math.atan2(dy, dx)
        # The eye midpoint sits at (0.5, CANON_EYE_LINE): step back to the box centre.
        off = (0.5 - CANON_EYE_LINE) * size
        mid_x, mid_y = (left[0] + right[0]) / 2, (left[1] + right[1]) / 2
        return cls(cx=mid_x - off * math.sin(angle), cy=mid_y + off * math.cos(angle), size=size, angle=angle)

    def scaled(self, factor: float) -> "FaceFrame":
        """The same frame in an image resized by factor."""
        return FaceFrame(cx=self.cx * factor, cy=self.cy * factor, size=self.size * factor, angle=self.angle)

    def point(self, u: float, v: float) -> tuple[float, float]:
        """Image coordinates of box fractions (u, v)."""
        cos, sin = math.cos(self.angle), math.sin(self.angle)
        du, dv = (u - 0.5) * self.size, (v - 0.5) * self.size
        return self.cx + cos * du - sin * dv, self.cy + sin * du + cos * dv


@dataclass(frozen=True)
class FaceCrop:
    """The face resampled so the canonical box is face_size px wide, and how to map back."""

    bgr: np.ndarray
    valid: np.ndarray
    frame: FaceFrame
    face_size: int

    def to_image(self, x: float, y: float) -> tuple[float, float]:
        """Image coordinates of a crop pixel."""
        return self.frame.point(CROP_LEFT + x / self.face_size, CROP_TOP + y / self.face_size)


def layout_for(*, angle: str, profile: bool) -> dict[str, tuple[float, float, float, float]]:
    """The regions to measure for a photo of this angle and detector."""
    if angle == "front":
        return FRONT_LAYOUT
    if profile:
        return {f"{angle}_cheek": PROFILE_CHEEK}
    # A side photo the frontal cascade still found: only its cheeks are informative.
    return {name: FRONT_LAYOUT[name] for name in ("left_cheek", "right_cheek")}


def to_crop(fractions: tuple[float, float, float, float], *, face_size: int) -> Rect:
    """A rectangle given in box fractions, in pixels of the normalised crop."""
    x0, y0, x1, y1 = fractions
    return Rect(
        x0=round((x0 - CROP_LEFT) * face_size),
        y0=round((y0 - CROP_TOP) * face_size),
        x1=round((x1 - CROP_LEFT) * face_size),
        y1=round((y1 - CROP_TOP) * face_size),
    )


def region_rects(*, layout: dict[str, tuple[float, float, float, float]], face_size: int) -> dict[str, Rect]:
    """Pixel rectangles of each region inside the normalised crop."""
    return {name: to_crop(fractions, face_size=face_size) for name, fractions in layout.items()}


def crop_face(*, image: np.ndarray, frame: FaceFrame, face_size: int) -> FaceCrop:
    """Resample the face (see CROP_*) upright so the canonical box is face_size px wide."""
    out_w = round(face_size * (CROP_RIGHT - CROP_LEFT))
    out_h = round(face_size * (CROP_BOTTOM - CROP_TOP))
    img_h, img_w = image.shape[:2]
    corners = [frame.point(u, v) for u in (CROP_LEFT, CROP_RIGHT) for v in (CROP_TOP, CROP_BOTTOM)]
    x0 = max(0, math.floor(min(p[0] for p in corners)) - 2)
    y0 = max(0, math.floor(min(p[1] for p in corners)) - 2)
    x1 = min(img_w, math.ceil(max(p[0] for p in corners)) + 3)
    y1 = min(img_h, math.ceil(max(p[1] for p in corners)) + 3)
    roi = image[y0:y1, x0:x1]
    shrink = frame.size / face_size
    gain = 1.0
    if shrink > MAX_DIRECT_SHRINK and roi.size:
        size = (max(1, round(roi.shape[1] / shrink)), max(1, round(roi.shape[0] / shrink)))
        gain = size[0] / roi.shape[1]
        roi = cv2.resize(roi, size, interpolation=cv2.INTER_AREA)
    # Affine map crop pixel → roi pixel: canonical box fractions, rotated, scaled, shifted.
    step = frame.size / face_size * gain
    cos, sin = math.cos(frame.angle), math.sin(frame.angle)
    ox, oy = frame.point(CROP_LEFT, CROP_TOP)
    matrix = np.array(
        [[step * cos, -step * sin, (ox - x0) * gain], [step * sin, step * cos, (oy - y0) * gain]],
        dtype=np.float64,
    )
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    bgr = cv2.warpAffine(roi, matrix, (out_w, out_h), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    # The roi holds every crop corner (plus a margin) unless the photo's edge cut it, so crop
    # pixels that map outside the roi map outside the photo (e.g. a chin cut by the frame).
    valid = cv2.warpAffine(
        np.ones(roi.shape[:2], np.uint8),
        matrix,
        (out_w, out_h),
        flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    return FaceCrop(bgr=bgr, valid=valid.astype(bool), frame=frame, face_size=face_size)


def skin_mask(*, bgr: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Boolean mask of skin-coloured pixels by a generic YCrCb test (no face-specific tone)."""
    ycrcb = cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb)
    y, cr, cb = ycrcb[..., 0], ycrcb[..., 1], ycrcb[..., 2]
    return valid & (y >= SKIN_Y_MIN) & (cr >= SKIN_CR_MIN) & (cb >= SKIN_CB_MIN) & (cb <= SKIN_CB_MAX)


def median_u8(values: np.ndarray) -> int:
    """Median of uint8 values via a histogram (np.median sorts: several times slower)."""
    if not values.size:
        return 0
    cumulative = np.cumsum(np.bincount(values.ravel(), minlength=256))
    return int(np.searchsorted(cumulative, (values.size + 1) // 2))


def face_tone_mask(*, lab: np.ndarray, skin: np.ndarray, face_size: int) -> np.ndarray:
    """Refine a skin mask with the face's own tone; lab is OpenCV's 8-bit Lab of the crop."""
    rows, cols = to_crop(TONE_REFERENCE, face_size=face_size).slices()
    ref = lab[rows, cols][skin[rows, cols]]
    if not ref.size:
        return skin
    # 8-bit Lab stores L*·255/100 and a*+128, b*+128: convert the tolerances accordingly.
    lower = (
        max(0, median_u8(ref[:, 0]) - round(TONE_MAX_DARKER * 2.55)),
        max(0, median_u8(ref[:, 1]) - round(TONE_MAX_LESS_RED)),
        0,
    )
    upper = (255, 255, min(255, median_u8(ref[:, 2]) + round(TONE_MAX_MORE_YELLOW)))
    return skin & (cv2.inRange(lab, lower, upper) > 0)
