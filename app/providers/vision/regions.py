"""The upright face crop at a fixed scale, and skin-region polygons built from the face mesh.

The crop is a similarity transform of the photo that puts the eye midpoint at a fixed place,
the eye line horizontal and the eye distance at IOD_PX pixels, whatever the photo's size: every
measurement then sees the face at the same scale (1 px ≈ 1 mm on an adult face). Regions are
polygons computed from landmarks in that crop; each image-left region has an image-right twin
built by the mirrored formula, so mirroring the photo swaps twins and changes no face score.
"""

import math
from dataclasses import dataclass

import cv2
import numpy as np

from app.providers.vision import landmarks as lm

IOD_PX = 64  # eye distance in the crop; an adult's is about 63 mm
# The crop, in eye distances from the eye midpoint: x in ±CROP_HALF_W, y in [-CROP_UP, CROP_DOWN].
CROP_HALF_W = 1.45
CROP_UP = 1.05
CROP_DOWN = 2.0
CROP_W = round(2 * CROP_HALF_W * IOD_PX)
CROP_H = round((CROP_UP + CROP_DOWN) * IOD_PX)
# The eye midpoint sits on the crop's pixel-centre axis of symmetry: a mirrored photo gives the
# exactly mirrored crop.
EYE_X, EYE_Y = (CROP_W - 1) / 2, CROP_UP * IOD_PX
# Above this shrink factor the photo is first averaged down (INTER_AREA): bilinear warping
# alone would alias fine skin texture into fake "pores" and make scores resolution-dependent.
MAX_DIRECT_SHRINK = 1.25

REGION_NAMES: tuple[str, ...] = (
    "forehead",
    "under_eye_left",
    "under_eye_right",
    "left_cheek",
    "right_cheek",
    "nose",
    "upper_lip",
    "chin",
)
# Twins (image-left, image-right): mirrored formulas, averaged into one value per pair.
TWINS: tuple[tuple[str, str], ...] = (("under_eye_left", "under_eye_right"), ("left_cheek", "right_cheek"))


@dataclass(frozen=True)
class Alignment:
    """The photo → crop similarity: crop = scale * R(-roll) * (p - eye_mid) + (EYE_X, EYE_Y)."""

    eye_mid: tuple[float, float]
    roll: float
    scale: float  # crop px per photo px

    def matrix(self) -> np.ndarray:
        """2x3 affine matrix photo px → crop px."""
        c, s = math.cos(-self.roll) * self.scale, math.sin(-self.roll) * self.scale
        mx, my = self.eye_mid
        return np.array([[c, -s, EYE_X - c * mx + s * my], [s, c, EYE_Y - s * mx - c * my]])

    def to_photo(self, points: np.ndarray) -> np.ndarray:
        """Crop points (N x 2) back in photo pixels."""
        inverse = cv2.invertAffineTransform(self.matrix())
        return points @ inverse[:, :2].T + inverse[:, 2]


def align(mesh: np.ndarray) -> Alignment:
    """The alignment that puts this mesh's eyes at their canonical place."""
    left, right = lm.eye_centres(mesh)
    dx, dy = right - left
    return Alignment(
        eye_mid=(float((left[0] + right[0]) / 2), float((left[1] + right[1]) / 2)),
        roll=math.atan2(dy, dx),
        scale=IOD_PX / max(1e-6, math.hypot(dx, dy)),
    )


def area_step(shrink: float) -> int:
    """The box size (photo px) the photo is averaged down by before the warp (1: warped directly)."""
    return max(1, math.floor(shrink)) if shrink > MAX_DIRECT_SHRINK else 1


def warp_face(image: np.ndarray, alignment: Alignment) -> tuple[np.ndarray, np.ndarray]:
    """The upright crop of the face and which of its pixels lie inside the photo."""
    matrix = alignment.matrix()
    source = image
    k = area_step(1.0 / alignment.scale)
    if k > 1:
        # Average the photo down first (the warp does the rest). The whole photo is resized, not
        # trimmed to a multiple, so the result stays mirror-symmetric.
        h, w = image.shape[:2]
        size = (max(1, w // k), max(1, h // k))
        source = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        sx, sy = w / size[0], h / size[1]
        # OpenCV resize maps small pixel q to photo coordinate (q + 0.5) * s - 0.5.
        to_photo = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1.0]])
        matrix = (np.vstack([matrix, [0, 0, 1]]) @ to_photo)[:2]
    crop = cv2.warpAffine(
        source, matrix, (CROP_W, CROP_H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    valid = cv2.warpAffine(
        np.ones(source.shape[:2], np.uint8),
        matrix,
        (CROP_W, CROP_H),
        flags=cv2.INTER_NEAREST,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    return crop, valid.astype(bool)


def mesh_in_crop(mesh: np.ndarray, alignment: Alignment) -> np.ndarray:
    """The mesh's (x, y) in crop pixels."""
    m = alignment.matrix()
    return mesh[:, :2] @ m[:, :2].T + m[:, 2]


def _quad(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], np.float32)


def region_polygons(points: np.ndarray) -> dict[str, np.ndarray]:
    """Region polygons (crop px) from the mesh in crop pixels; twins use mirrored formulas."""
    d = float(IOD_PX)
    nose = points[lm.NOSE_TIP]
    mouth_l, mouth_r = points[lm.MOUTH_L], points[lm.MOUTH_R]
    chin = points[lm.CHIN]
    top = points[lm.FOREHEAD_TOP]
    brow_y = float(points[[105, 334, 66, 296]][:, 1].min())
    lip_top = float(points[0][1])
    lip_bottom = float(points[17][1])
    cx = EYE_X
    forehead_top = max(float(top[1]) + 0.10 * d, brow_y - 0.80 * d)
    polys: dict[str, np.ndarray] = {
        "forehead": _quad(cx - 0.55 * d, forehead_top, cx + 0.55 * d, brow_y - 0.14 * d),
        "nose": np.array(
            [
                (cx - 0.09 * d, EYE_Y + 0.30 * d),
                (cx + 0.09 * d, EYE_Y + 0.30 * d),
                (nose[0] + 0.15 * d, nose[1] - 0.12 * d),
                (nose[0] - 0.15 * d, nose[1] - 0.12 * d),
            ],
            np.float32,
        ),
        "chin": _quad(cx - 0.32 * d, lip_bottom + 0.12 * d, cx + 0.32 * d, chin[1] - 0.14 * d),
    }
    lip_y0, lip_y1 = nose[1] + 0.22 * d, lip_top - 0.06 * d
    if lip_y1 - lip_y0 >= 0.08 * d:
        polys["upper_lip"] = _quad(cx - 0.28 * d, lip_y0, cx + 0.28 * d, lip_y1)
    contour = {-1: points[lm.CONTOUR_L], 1: points[lm.CONTOUR_R]}
    eyes = {-1: points[list(lm.EYE_L)].mean(0), 1: points[list(lm.EYE_R)].mean(0)}
    for side, suffix in ((-1, "left"), (1, "right")):
        eye = eyes[side]
        # x measured outwards from the face's midline, so both sides use one formula.
        outer = min(0.74 * abs(contour[side][0] - cx), 0.95 * d)
        mouth = mouth_l if side < 0 else mouth_r
        polys[f"under_eye_{suffix}"] = _quad(
            eye[0] - 0.27 * d, eye[1] + 0.20 * d, eye[0] + 0.27 * d, eye[1] + 0.40 * d
        )
        top_y = eye[1] + 0.55 * d
        bottom_y = eye[1] + 1.10 * d
        # A smile lifts the mouth corner into the cheek: the inner side is cut above it.
        inner_bottom_y = max(top_y + 0.25 * d, min(bottom_y, float(mouth[1]) - 0.15 * d))
        inner = 0.40 * d
        cheek = [
            (inner, top_y),
            (outer, top_y),
            (outer, bottom_y),
            (inner + 0.30 * d, bottom_y),
            (inner, inner_bottom_y),
        ]
        polys[f"{suffix}_cheek"] = np.array([(cx + side * x, y) for x, y in cheek], np.float32)
    return polys


def polygon_masks(polys: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A boolean mask in the crop for each polygon."""
    masks = {}
    for name, poly in polys.items():
        mask = np.zeros((CROP_H, CROP_W), np.uint8)
        # Sub-pixel vertices (shift 4) so a landmark moving by a fraction of a pixel moves the edge.
        cv2.fillPoly(mask, [np.round(poly * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
        masks[name] = mask.astype(bool)
    return masks


@dataclass(frozen=True)
class Rect:
    """An integer pixel rectangle, half-open: [x0, x1) x [y0, y1) (the overlay's face box)."""

    x0: int
    y0: int
    x1: int
    y1: int
