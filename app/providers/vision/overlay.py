"""Drawing the analysis on the photo: face box, labelled regions and detected spots."""

import cv2
import numpy as np

from app.providers.vision.regions import Rect

FACE_COLOR = (80, 220, 80)  # BGR
REGION_COLOR = (230, 200, 40)
SPOT_COLORS: dict[str, tuple[int, int, int]] = {"dark_spot": (40, 40, 230), "red_blob": (230, 40, 230)}
JPEG_QUALITY = 90

Point = tuple[int, int]


def draw_overlay(
    *,
    canvas: np.ndarray,
    face: Rect | None,
    regions: dict[str, list[Point]],
    spots: list[tuple[str, int, int, int]],
) -> np.ndarray:
    """Draw on a copy of canvas; regions are polygons, spots (kind, x, y, radius), in canvas px."""
    out = canvas.copy()
    # Line widths and text follow the photo size so the overlay reads the same on 1 or 12 MP.
    unit = max(1, round(max(out.shape[:2]) / 500))
    if face is not None:
        cv2.rectangle(out, (face.x0, face.y0), (face.x1, face.y1), FACE_COLOR, 2 * unit)
    for name, corners in regions.items():
        # Regions follow head roll, so they are drawn as polygons rather than upright boxes.
        cv2.polylines(out, [np.array(corners, np.int32)], isClosed=True, color=REGION_COLOR, thickness=unit)
        x, y = corners[0]
        cv2.putText(
            out,
            name,
            (x + unit, y - 2 * unit),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.3 * unit,
            REGION_COLOR,
            max(1, unit // 2),
        )
    for kind, x, y, radius in spots:
        cv2.circle(out, (x, y), max(radius + unit, 2 * unit), SPOT_COLORS[kind], unit, cv2.LINE_AA)
    return out


def encode_jpeg(image: np.ndarray) -> bytes:
    """Encode a BGR image as JPEG bytes."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()
