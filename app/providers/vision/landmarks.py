"""Face detection and the 468-point face mesh with Google's MediaPipe TFLite models (LiteRT).

`face_detection_short_range.tflite` (BlazeFace) finds faces and six keypoints on a 128x128
letterboxed copy; `face_landmark.tflite` places 468 landmarks on a 192x192 crop rotated
upright by the eyes. Both files ship in app/providers/vision/models/ (Apache-2.0, see NOTICE).
If the runtime or the files are missing, `available()` is False and the caller falls back.
"""

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

MODEL_DIR = Path(__file__).resolve().parent / "models"
DETECTOR_FILE = MODEL_DIR / "face_detection_short_range.tflite"
LANDMARK_FILE = MODEL_DIR / "face_landmark.tflite"

DETECT_SIZE = 128
LANDMARK_SIZE = 192
DETECT_MIN_SCORE = 0.5
NMS_IOU = 0.3
# The landmark crop is the detection box enlarged like MediaPipe's own graph (1.5x), then a
# second pass on the box of the first pass's landmarks (1.25x) for a steadier mesh.
DETECT_CROP_SCALE = 1.5
REFINE_CROP_SCALE = 1.25
LANDMARK_MIN_PRESENCE = 0.5

# Mesh indices used by the analyser; "L" is the image-left side (the subject's right).
EYE_L = (33, 133, 159, 145)
EYE_R = (263, 362, 386, 374)
NOSE_TIP = 1
CHIN = 152
FOREHEAD_TOP = 10
MOUTH_L, MOUTH_R = 61, 291
CONTOUR_L, CONTOUR_R = 234, 454

_local = threading.local()


def available() -> bool:
    """Whether the LiteRT runtime and both model files are present."""
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return False
    return DETECTOR_FILE.is_file() and LANDMARK_FILE.is_file()


def _interpreter(path: Path) -> Any:  # LiteRT's Interpreter ships no types
    """This thread's interpreter for a model (interpreters are not thread-safe), loaded once."""
    from ai_edge_litert.interpreter import Interpreter

    cache: dict[Path, object] = _local.__dict__.setdefault("interpreters", {})
    if path not in cache:
        interpreter = Interpreter(model_path=str(path), num_threads=1)
        interpreter.allocate_tensors()
        cache[path] = interpreter
    return cache[path]


def _run(path: Path, tensor: np.ndarray) -> list[np.ndarray]:
    interpreter = _interpreter(path)
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], tensor[None].astype(np.float32))
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]


def _anchors() -> np.ndarray:
    """BlazeFace short-range SSD anchor centres (896 x 2): strides 8 (2 per cell) and 16 (6 per cell)."""
    cached = _local.__dict__.get("anchors")
    if cached is not None:
        return cached
    rows = []
    for stride, per_cell in ((8, 2), (16, 6)):
        grid = DETECT_SIZE // stride
        for y in range(grid):
            for x in range(grid):
                rows.extend([((x + 0.5) / grid, (y + 0.5) / grid)] * per_cell)
    anchors = np.array(rows, np.float32)
    _local.anchors = anchors
    return anchors


@dataclass(frozen=True)
class FaceDetection:
    """A detected face in image pixels: box (x, y, w, h), score, six keypoints (x, y)."""

    box: tuple[float, float, float, float]
    score: float
    keypoints: np.ndarray


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / max(1e-9, aw * ah + bw * bh - inter)


def detect_faces(rgb: np.ndarray) -> list[FaceDetection]:
    """Faces in an RGB image, best first (weighted non-maximum suppression like MediaPipe)."""
    h, w = rgb.shape[:2]
    side = max(h, w)
    # Letterbox to a square so the face keeps its shape; padding is split evenly.
    pad_x, pad_y = (side - w) / 2, (side - h) / 2
    square = cv2.copyMakeBorder(
        rgb, math.floor(pad_y), math.ceil(pad_y), math.floor(pad_x), math.ceil(pad_x), cv2.BORDER_CONSTANT
    )
    small = cv2.resize(square, (DETECT_SIZE, DETECT_SIZE), interpolation=cv2.INTER_AREA)
    regressors, scores = _run(DETECTOR_FILE, small.astype(np.float32) / 127.5 - 1.0)
    raw = regressors[0]
    logits = np.clip(scores[0, :, 0], -50, 50)
    prob = 1.0 / (1.0 + np.exp(-logits))
    anchors = _anchors()
    keep = np.flatnonzero(prob >= DETECT_MIN_SCORE)
    candidates = []
    for i in keep[np.argsort(-prob[keep])]:
        cx = raw[i, 0] / DETECT_SIZE + anchors[i, 0]
        cy = raw[i, 1] / DETECT_SIZE + anchors[i, 1]
        bw, bh = raw[i, 2] / DETECT_SIZE, raw[i, 3] / DETECT_SIZE
        kps = raw[i, 4:16].reshape(6, 2) / DETECT_SIZE + anchors[i]
        box = ((cx - bw / 2) * side - pad_x, (cy - bh / 2) * side - pad_y, bw * side, bh * side)
        candidates.append((float(prob[i]), box, kps * side - (pad_x, pad_y)))
    faces: list[FaceDetection] = []
    used = [False] * len(candidates)
    for i, (score, box, _) in enumerate(candidates):
        if used[i]:
            continue
        group = [j for j in range(i, len(candidates)) if not used[j] and iou(box, candidates[j][1]) > NMS_IOU]
        for j in group:
            used[j] = True
        weights = np.array([candidates[j][0] for j in group])
        boxes = np.array([candidates[j][1] for j in group])
        kps = np.array([candidates[j][2] for j in group])
        mean_box = tuple(float(v) for v in (weights[:, None] * boxes).sum(0) / weights.sum())
        mean_kps = (weights[:, None, None] * kps).sum(0) / weights.sum()
        faces.append(FaceDetection(box=mean_box, score=score, keypoints=mean_kps))  # type: ignore[arg-type]
    return faces


def _crop_transform(cx: float, cy: float, size: float, angle: float) -> np.ndarray:
    """Affine map image → LANDMARK_SIZE crop of a square of `size` px centred at (cx, cy), rotated by angle."""
    scale = LANDMARK_SIZE / size
    cos, sin = math.cos(-angle) * scale, math.sin(-angle) * scale
    half = LANDMARK_SIZE / 2
    return np.array([[cos, -sin, half - cos * cx + sin * cy], [sin, cos, half - sin * cx - cos * cy]])


class Shrinks:
    """A photo averaged down by whole factors for the mesh (big faces), each computed once.

    The mirror's copies are the photo's flipped whenever that is bit-identical to shrinking
    the mirror (factor a power of two dividing the width: every block sum is exact), which
    saves a full-size resize per photo without moving a single pixel.
    """

    def __init__(self, image: np.ndarray, *, mirror_of: "Shrinks | None" = None) -> None:
        self.image = image
        self._mirror_of = mirror_of
        self._by_factor: dict[int, np.ndarray] = {}

    def get(self, k: int) -> np.ndarray:
        """The photo averaged down by k (OpenCV INTER_AREA to width // k x height // k)."""
        cached = self._by_factor.get(k)
        if cached is not None:
            return cached
        h, w = self.image.shape[:2]
        if self._mirror_of is not None and k & (k - 1) == 0 and w % k == 0:
            shrunk = cv2.flip(self._mirror_of.get(k), 1)
        else:
            shrunk = cv2.resize(self.image, (w // k, h // k), interpolation=cv2.INTER_AREA)
        self._by_factor[k] = shrunk
        return shrunk


def _mesh(
    rgb: np.ndarray, cx: float, cy: float, size: float, angle: float, shrinks: Shrinks
) -> tuple[np.ndarray, float]:
    """468 landmarks (x, y, z) in image pixels and the face-presence probability."""
    matrix = _crop_transform(cx, cy, size, angle)
    source = rgb
    shrink = size / LANDMARK_SIZE
    if shrink > 2.0:
        # Big faces are averaged down first: bilinear sampling alone would alias.
        k = int(shrink)
        source = shrinks.get(k)
        matrix = np.vstack([matrix, [0, 0, 1]]) @ np.array([[k, 0, 0], [0, k, 0], [0, 0, 1]])
    crop = cv2.warpAffine(
        source,
        matrix[:2],
        (LANDMARK_SIZE, LANDMARK_SIZE),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
    )
    matrix = _crop_transform(cx, cy, size, angle)
    points, presence = _run(LANDMARK_FILE, crop.astype(np.float32) / 255.0)
    pts = points.reshape(468, 3).astype(np.float64)
    inverse = cv2.invertAffineTransform(matrix)
    xy = pts[:, :2] @ inverse[:, :2].T + inverse[:, 2]
    z = pts[:, 2:] * size / LANDMARK_SIZE
    prob = 1.0 / (1.0 + math.exp(-float(np.clip(presence.ravel()[0], -50, 50))))
    return np.hstack([xy, z]), prob


# BlazeFace keypoints: eyes (0, 1) and ears (4, 5) swap under mirroring; nose 2 and mouth 3 stay.
KEYPOINT_MIRROR = (1, 0, 2, 3, 5, 4)


def mirror_detection(d: FaceDetection, width: int) -> FaceDetection:
    """The same detection in the left-right mirrored photo."""
    x, y, w, h = d.box
    kps = d.keypoints[list(KEYPOINT_MIRROR)].copy()
    kps[:, 0] = (width - 1) - kps[:, 0]
    return FaceDetection(box=((width - 1) - x - w, y, w, h), score=d.score, keypoints=kps)


def average_detections(a: FaceDetection, b: FaceDetection) -> FaceDetection:
    """The mean of two detections of one face."""
    box = tuple((p + q) / 2 for p, q in zip(a.box, b.box, strict=True))
    return FaceDetection(box=box, score=(a.score + b.score) / 2, keypoints=(a.keypoints + b.keypoints) / 2)  # type: ignore[arg-type]


# Mirror twins among the landmarks the analyser uses (image-left ↔ image-right); the others
# used (nose tip, chin, forehead top, lip centres) lie on the midline.
MIRROR_PAIRS: tuple[tuple[int, int], ...] = (
    (33, 263),
    (133, 362),
    (159, 386),
    (145, 374),
    (61, 291),
    (234, 454),
    (105, 334),
    (66, 296),
)
MIDLINE: tuple[int, ...] = (1, 152, 10, 0, 17)


def symmetrise(mesh: np.ndarray, mirrored: np.ndarray, width: int) -> np.ndarray:
    """Average a mesh with the mesh found on the mirrored photo, mapped back (used landmarks only).

    The result is exactly mirror-equivariant: analysing the mirrored photo gives the mirror
    of this mesh, so mirroring cannot move a region or a score.
    """
    back = mirrored.copy()
    back[:, 0] = (width - 1) - back[:, 0]
    out = mesh.copy()
    for i, j in MIRROR_PAIRS:
        out[i] = (mesh[i] + back[j]) / 2
        out[j] = (mesh[j] + back[i]) / 2
    for i in MIDLINE:
        out[i] = (mesh[i] + back[i]) / 2
    return out


def eye_centres(mesh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the image-left and image-right eyes."""
    return mesh[list(EYE_L), :2].mean(0), mesh[list(EYE_R), :2].mean(0)


def face_mesh(
    rgb: np.ndarray, detection: FaceDetection, *, shrinks: Shrinks | None = None
) -> tuple[np.ndarray, float] | None:
    """The refined 468-point mesh of a detected face, or None if the mesh finds no face.

    `shrinks` are this photo's averaged-down copies (shared with its mirror's, see `Shrinks`)."""
    kp = detection.keypoints
    left, right = sorted((kp[0], kp[1]), key=lambda p: p[0])
    angle = math.atan2(right[1] - left[1], right[0] - left[0])
    x, y, w, h = detection.box
    shrinks = shrinks if shrinks is not None else Shrinks(rgb)
    mesh, prob = _mesh(rgb, x + w / 2, y + h / 2, max(w, h) * DETECT_CROP_SCALE, angle, shrinks)
    if prob < LANDMARK_MIN_PRESENCE:
        return None
    el, er = eye_centres(mesh)
    angle = math.atan2(er[1] - el[1], er[0] - el[0])
    # Box of the landmarks in the upright frame, then the refining pass.
    cos, sin = math.cos(-angle), math.sin(-angle)
    centre = mesh[:, :2].mean(0)
    rel = mesh[:, :2] - centre
    up = np.stack([rel[:, 0] * cos - rel[:, 1] * sin, rel[:, 0] * sin + rel[:, 1] * cos], 1)
    lo, hi = up.min(0), up.max(0)
    mid = (lo + hi) / 2
    cx = centre[0] + mid[0] * math.cos(angle) - mid[1] * math.sin(angle)
    cy = centre[1] + mid[0] * math.sin(angle) + mid[1] * math.cos(angle)
    refined, prob2 = _mesh(rgb, cx, cy, float(max(hi - lo)) * REFINE_CROP_SCALE, angle, shrinks)
    if prob2 < LANDMARK_MIN_PRESENCE:
        return mesh, prob
    return refined, prob2
