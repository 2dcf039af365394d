"""The offline vision provider: skin measurement from pixels with OpenCV and NumPy.

Pipeline per photo: decode (reduced-size DCT decode for big JPEGs) → Haar face detection on a
small grey copy → eye alignment → face crop resampled to a fixed width → quality gate → skin
regions → metrics.
The photos of a scan are then combined into one set of scores. docs/VISION.md has the details.
"""

import io
import math
import threading
from dataclasses import dataclass
from functools import partial

import cv2
import cv2.data  # a plain module the stubs of cv2 do not declare
import numpy as np
from PIL import Image, UnidentifiedImageError

from app.core.vocabulary import METRICS, OVERALL, ScanAngle
from app.providers.vision.base import (
    AnalysisFailedError,
    AngleAnalysis,
    Box,
    QualityProblem,
    QualityReport,
    ScanAnalysis,
    quality_problem,
)
from app.providers.vision.metrics import FACE_SIZE, FaceResult, compute_planes, measure_face, overall_score
from app.providers.vision.overlay import draw_overlay, encode_jpeg
from app.providers.vision.regions import (
    CANON_EYE_DISTANCE,
    CANON_EYE_LINE,
    FaceCrop,
    FaceFrame,
    Rect,
    crop_face,
    layout_for,
    region_rects,
    skin_mask,
)

FRONTAL_CASCADE = "haarcascade_frontalface_default.xml"
PROFILE_CASCADE = "haarcascade_profileface.xml"
EYE_CASCADE = "haarcascade_eye.xml"
# Detection runs on a grey copy just big enough that a face of exactly min_face_fraction spans
# DETECT_FACE_PX. Cascade cost grows with image area / smallest face area, so detection runs in
# passes, stopping at the first that finds a face: (area multiplier, scale step, smallest face
# px). The fast pass finds faces of ≥ 7.6% of the photo (typical selfies); the fine pass,
# twice the area with a finer step, finds faces down to 1.5% (then reported as too small) and
# faces the fast pass missed (tilted, unevenly lit).
DETECT_FACE_PX = 32
DETECT_PASSES: tuple[tuple[float, float, int], ...] = ((1.0, 1.2, 44), (2.0, 1.1, 28))
# Eyes are searched in this band of the face box's rows, resampled EYE_ROI_WIDTH px wide, with
# eye sizes EYE_PX. A pair is accepted if its distance (box widths) and roll are plausible.
EYE_BAND = (0.20, 0.55)
EYE_ROI_WIDTH = 96
EYE_PX = (12, 36)
EYE_SCALE_FACTOR = 1.15
EYE_DISTANCE_RANGE = (0.30, 0.65)
EYE_MAX_ROLL = math.radians(25)
CLIPPED_LEVEL = 250  # grey level counted as blown-out
ANGLE_ORDER: tuple[str, ...] = tuple(a.value for a in ScanAngle)
REDUCED_FLAGS: dict[int, int] = {
    1: cv2.IMREAD_COLOR,
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}

EXPOSURE_CODES = frozenset({"too_dark", "too_bright"})

# One classifier per thread and cascade: detectMultiScale is not documented as thread-safe.
_local = threading.local()


def _cascade(name: str) -> cv2.CascadeClassifier:
    """This thread's classifier for a cascade file shipped with OpenCV, loaded once."""
    cache: dict[str, cv2.CascadeClassifier] = _local.__dict__.setdefault("cascades", {})
    if name not in cache:
        classifier = cv2.CascadeClassifier(cv2.data.haarcascades + name)
        if classifier.empty():
            raise AnalysisFailedError(
                f"Face detector {name} could not be loaded.", code="detector_unavailable"
            )
        cache[name] = classifier
    return cache[name]


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
        return float(self.width / self.image.shape[1])


@dataclass(frozen=True)
class Detection:
    """The chosen face in decoded pixels, which cascade found it, and how many faces are alike."""

    box: tuple[int, int, int, int]
    profile: bool
    similar_faces: int


def _header(data: bytes) -> tuple[str, int, int]:
    """Format and size from the header only (no pixel decoding)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return str(img.format), img.width, img.height
    except Image.DecompressionBombError as exc:
        raise AnalysisFailedError("The photo has too many pixels.", code="image_too_large") from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise AnalysisFailedError("The photo could not be decoded.", code="undecodable_image") from exc


def decode(*, data: bytes, min_side: int | None) -> Decoded:
    """Decode JPEG/PNG bytes; JPEGs are DCT-downscaled by 2/4/8 while the short side stays ≥ min_side."""
    if not data:
        raise AnalysisFailedError("The photo is empty.", code="undecodable_image")
    fmt, width, height = _header(data)
    reduction = 1
    if fmt == "JPEG" and min_side is not None:
        # libjpeg scales in the DCT domain: decoding 1/4 of a 12 MP JPEG costs a fraction of it.
        reduction = next((f for f in (8, 4, 2) if min(width, height) // f >= min_side), 1)
    # Orientation was applied upstream; ignoring EXIF keeps decoded and header sizes consistent.
    flags = REDUCED_FLAGS[reduction] | cv2.IMREAD_IGNORE_ORIENTATION
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None:
        raise AnalysisFailedError("The photo could not be decoded.", code="undecodable_image")
    return Decoded(image=image, width=width, height=height, reduction=reduction)


def _downscale(grey: np.ndarray, *, area: float) -> tuple[np.ndarray, float]:
    """A copy of about `area` pixels, and its size relative to the input."""
    h, w = grey.shape
    scale = math.sqrt(area / (w * h))
    k = math.floor(1.0 / scale)
    small = grey
    if k >= 2:
        # An exact integer ratio takes OpenCV's fast INTER_AREA path (~4x faster than an
        # arbitrary ratio); the remainder is then resized on the small image.
        small = cv2.resize(grey[: h - h % k, : w - w % k], (w // k, h // k), interpolation=cv2.INTER_AREA)
        scale *= k
    # Tiny photos are enlarged so their face can still reach the cascade's window.
    interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    size = (max(1, round(small.shape[1] * scale)), max(1, round(small.shape[0] * scale)))
    return cv2.resize(small, size, interpolation=interp), size[0] / w


def _skin_share(image: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Share of skin-coloured pixels in the middle of a box (about 32x32 samples)."""
    x, y, w, h = box
    step = max(1, w // 64)
    centre = image[y + h * 3 // 10 : y + h * 8 // 10 : step, x + w // 4 : x + w * 3 // 4 : step]
    if not centre.size:
        return 0.0
    mask = skin_mask(bgr=np.ascontiguousarray(centre), valid=np.ones(centre.shape[:2], bool))
    return float(mask.mean())


def _original_box(box: tuple[int, int, int, int], *, scale: float) -> Box:
    x, y, w, h = box
    return Box(x=round(x * scale), y=round(y * scale), w=round(w * scale), h=round(h * scale))


def _analysis_frame(analysis: AngleAnalysis, *, scale: float) -> FaceFrame:
    """The face frame an analysis used, in decoded pixels (scale: original per decoded px)."""
    m = analysis.measurements
    if "frame_size" in m:
        frame = FaceFrame(
            cx=m["frame_cx"], cy=m["frame_cy"], size=m["frame_size"], angle=math.radians(m["frame_roll_deg"])
        )
    else:
        b = analysis.face_box or Box(x=0, y=0, w=1, h=1)
        frame = FaceFrame.from_box((b.x, b.y, b.w, b.h))
    return frame.scaled(1.0 / scale)


class LocalVisionProvider:
    """Offline skin analysis with OpenCV Haar face detection and pixel measurements."""

    name = "local"
    model_version = "local-cv-1"

    def __init__(
        self,
        *,
        min_face_fraction: float = 0.04,
        min_face_px: int = 128,
        dark_threshold: float = 45.0,
        bright_threshold: float = 215.0,
        max_clipped_fraction: float = 0.25,
        blur_threshold: float = 25.0,
        decode_min_side: int = 720,
        detect_min_neighbors: int = 3,
        min_face_skin: float = 0.6,
        second_face_ratio: float = 0.6,
        front_weight: float = 2.0,
    ) -> None:
        self.min_face_fraction = min_face_fraction
        self.min_face_px = min_face_px
        self.dark_threshold = dark_threshold
        self.bright_threshold = bright_threshold
        self.max_clipped_fraction = max_clipped_fraction
        self.blur_threshold = blur_threshold
        self.decode_min_side = decode_min_side
        self.detect_min_neighbors = detect_min_neighbors
        self.min_face_skin = min_face_skin
        self.second_face_ratio = second_face_ratio
        self.front_weight = front_weight
        self.detect_area = (DETECT_FACE_PX / math.sqrt(min_face_fraction)) ** 2

    # ---- public API -------------------------------------------------------------------------

    def analyze(self, images: dict[str, bytes]) -> ScanAnalysis:
        """Analyse a scan's photos (angle → bytes) and combine them; the front photo decides."""
        unknown = set(images) - set(ANGLE_ORDER)
        if unknown:
            raise AnalysisFailedError(f"Unknown photo angles: {sorted(unknown)}.", code="invalid_angle")
        if ScanAngle.FRONT not in images:
            raise AnalysisFailedError("The front photo is missing.", code="missing_front_photo")
        angles = [self.analyze_angle(angle=a, data=images[a]) for a in ANGLE_ORDER if a in images]
        front = angles[0]
        return ScanAnalysis(
            provider=self.name,
            model_version=self.model_version,
            passed_quality=front.quality.passed,
            scores=self._combine(angles) if front.quality.passed else {},
            angles=angles,
            problems=list(front.quality.problems),
        )

    def analyze_angle(self, *, angle: str, data: bytes) -> AngleAnalysis:
        """Quality gate and, if it passes, scores for one photo."""
        decoded = decode(data=data, min_side=self.decode_min_side)
        grey = cv2.cvtColor(decoded.image, cv2.COLOR_BGR2GRAY)
        detection = self._find_face(image=decoded.image, grey=grey, side=angle != ScanAngle.FRONT)
        if detection is None:
            return AngleAnalysis(angle=angle, quality=self._no_face_quality(decoded=decoded, grey=grey))
        frame, eyes_found = self._face_frame(grey=grey, detection=detection)
        crop = crop_face(image=decoded.image, frame=frame, face_size=FACE_SIZE)
        quality = self._quality(decoded=decoded, detection=detection, crop=crop)
        face_box = _original_box(detection.box, scale=decoded.scale)
        original = frame.scaled(decoded.scale)
        measurements = {
            "decode_reduction": float(decoded.reduction),
            "detector_profile": float(detection.profile),
            "eyes_found": float(eyes_found),
            "frame_cx": round(original.cx, 2),
            "frame_cy": round(original.cy, 2),
            "frame_size": round(original.size, 2),
            "frame_roll_deg": round(math.degrees(original.angle), 2),
        }
        if not quality.passed:
            return AngleAnalysis(angle=angle, quality=quality, face_box=face_box, measurements=measurements)
        result = self._measure(crop=crop, angle=angle, profile=detection.profile)
        return AngleAnalysis(
            angle=angle,
            quality=quality,
            face_box=face_box,
            scores=result.scores,
            regions=result.regions,
            measurements={**measurements, **result.measurements},
        )

    def render_overlay(self, image: bytes, analysis: AngleAnalysis) -> bytes:
        """A JPEG of the photo at full size with face box, regions and detected spots."""
        decoded = decode(data=image, min_side=self.decode_min_side)
        # Measure on the same (possibly reduced) pixels as the analysis, draw on the full photo.
        canvas = decode(data=image, min_side=None).image if decoded.reduction > 1 else decoded.image
        box = analysis.face_box
        if box is None:
            return encode_jpeg(canvas)
        regions, spots = self._overlay_shapes(decoded=decoded, analysis=analysis)
        face = Rect(x0=box.x, y0=box.y, x1=box.x + box.w, y1=box.y + box.h)
        return encode_jpeg(draw_overlay(canvas=canvas, face=face, regions=regions, spots=spots))

    def _overlay_shapes(
        self, *, decoded: Decoded, analysis: AngleAnalysis
    ) -> tuple[dict[str, list[tuple[int, int]]], list[tuple[str, int, int, int]]]:
        """Region polygons and spots of an analysis, in original-photo pixels."""
        s = decoded.scale
        crop = crop_face(image=decoded.image, frame=_analysis_frame(analysis, scale=s), face_size=FACE_SIZE)
        profile = analysis.measurements.get("detector_profile", 0.0) > 0.5
        rects = region_rects(layout=layout_for(angle=analysis.angle, profile=profile), face_size=FACE_SIZE)
        # Spots are re-detected on the same pixels (deterministic) rather than stored: the
        # contract keeps only floats in measurements.
        measured = (
            self._measure(crop=crop, angle=analysis.angle, profile=profile) if analysis.scores else None
        )

        def to_original(x: float, y: float) -> tuple[int, int]:
            px, py = crop.to_image(x, y)
            return round(px * s), round(py * s)

        regions = {
            name: [to_original(x, y) for x, y in ((r.x0, r.y0), (r.x1, r.y0), (r.x1, r.y1), (r.x0, r.y1))]
            for name, r in rects.items()
        }
        px_per_crop_px = crop.frame.size / FACE_SIZE * s
        spots = [
            (blob.kind, *to_original(blob.x, blob.y), round(blob.radius * px_per_crop_px))
            for blob in (measured.blobs if measured else ())
        ]
        return regions, spots

    # ---- detection --------------------------------------------------------------------------

    def _find_face(self, *, image: np.ndarray, grey: np.ndarray, side: bool) -> Detection | None:
        """Run the detection passes until one finds a face."""
        for area_factor, scale_factor, min_px in DETECT_PASSES:
            small, small_scale = _downscale(grey, area=self.detect_area * area_factor)
            detection = self._detect(
                image=image, small=small, small_scale=small_scale, side=side, step=(scale_factor, min_px)
            )
            if detection is not None:
                return detection
        return None

    def _face_frame(self, *, grey: np.ndarray, detection: Detection) -> tuple[FaceFrame, bool]:
        """The canonical face box, placed by the eyes when both are found, else the Haar box."""
        if not detection.profile:
            eyes = self._find_eyes(grey=grey, box=detection.box)
            if eyes is not None:
                return FaceFrame.from_eyes(*eyes), True
        return FaceFrame.from_box(detection.box), False

    def _find_eyes(
        self, *, grey: np.ndarray, box: tuple[int, int, int, int]
    ) -> tuple[tuple[float, float], tuple[float, float]] | None:
        """Centres of the image-left and image-right eyes in decoded pixels, if plausible."""
        x, y, w, h = box
        top, bottom = y + round(h * EYE_BAND[0]), y + round(h * EYE_BAND[1])
        roi = grey[top:bottom, x : x + w]
        if not roi.size:
            return None
        f = EYE_ROI_WIDTH / w
        size = (EYE_ROI_WIDTH, max(1, round(roi.shape[0] * f)))
        small = cv2.resize(roi, size, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
        found = _cascade(EYE_CASCADE).detectMultiScale(
            small,
            scaleFactor=EYE_SCALE_FACTOR,
            minNeighbors=3,
            minSize=(EYE_PX[0],) * 2,
            maxSize=(EYE_PX[1],) * 2,
        )
        centres = [(x + (ex + ew / 2) / f, top + (ey + eh / 2) / f) for ex, ey, ew, eh in found]
        # Brows, nostrils and glasses also fire: keep the detection nearest each canonical eye.
        expect_y = y + h * CANON_EYE_LINE
        picks = []
        for expect_x in (x + w * (0.5 - CANON_EYE_DISTANCE / 2), x + w * (0.5 + CANON_EYE_DISTANCE / 2)):
            side = [c for c in centres if (c[0] < x + w / 2) == (expect_x < x + w / 2)]
            if not side:
                return None
            picks.append(min(side, key=partial(math.dist, (expect_x, expect_y))))
        (lx, ly), (rx, ry) = picks
        distance = math.hypot(rx - lx, ry - ly) / w
        if not EYE_DISTANCE_RANGE[0] <= distance <= EYE_DISTANCE_RANGE[1]:
            return None
        if abs(math.atan2(ry - ly, rx - lx)) > EYE_MAX_ROLL:
            return None
        return picks[0], picks[1]

    def _detect(
        self, *, image: np.ndarray, small: np.ndarray, small_scale: float, side: bool, step: tuple[float, int]
    ) -> Detection | None:
        """The largest skin-coloured face; side photos fall back to the profile cascade."""
        # No histogram equalisation: the cascade normalises each window's contrast itself, and
        # equalising the whole frame hurt small faces in trials.
        boxes = self._faces(image, self._cascade_boxes(FRONTAL_CASCADE, small, step), small_scale)
        profile = False
        if not boxes and side:
            # The profile cascade knows one facing direction: try the mirror image for the other.
            width = small.shape[1]
            flipped = self._cascade_boxes(PROFILE_CASCADE, np.fliplr(small), step)
            candidates = self._cascade_boxes(PROFILE_CASCADE, small, step) + [
                (width - x - w, y, w, h) for x, y, w, h in flipped
            ]
            boxes = self._faces(image, candidates, small_scale)
            profile = True
        if not boxes:
            return None
        if len(boxes) > 1 and not profile:
            boxes = self._prefer_faces_with_eyes(image, boxes)
        x, y, w, h = boxes[0]
        similar = sum(1 for b in boxes if min(b[2], b[3]) >= self.second_face_ratio * min(w, h))
        return Detection(box=(x, y, w, h), profile=profile, similar_faces=similar)

    def _prefer_faces_with_eyes(
        self, image: np.ndarray, boxes: list[tuple[int, int, int, int]]
    ) -> list[tuple[int, int, int, int]]:
        """Among several candidates, real faces are the ones with two plausible eyes.

        A skin-toned background (or a colour cast over the whole photo) can pass the skin test
        and outsize the face; without this, it would be chosen, or count as a second face.
        """
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        with_eyes = [b for b in boxes if self._find_eyes(grey=grey, box=b) is not None]
        return with_eyes or boxes

    def _cascade_boxes(
        self, name: str, grey: np.ndarray, step: tuple[float, int]
    ) -> list[tuple[int, int, int, int]]:
        """Raw cascade boxes; step is (scale factor, smallest face px)."""
        scale_factor, min_px = step
        found = _cascade(name).detectMultiScale(
            np.ascontiguousarray(grey),
            scaleFactor=scale_factor,
            minNeighbors=self.detect_min_neighbors,
            minSize=(min_px, min_px),
        )
        return [(int(x), int(y), int(w), int(h)) for x, y, w, h in found]

    def _faces(
        self, image: np.ndarray, candidates: list[tuple[int, int, int, int]], small_scale: float
    ) -> list[tuple[int, int, int, int]]:
        """Skin-coloured candidates in decoded pixels, largest first (ties by position)."""
        boxes = [
            (round(x / small_scale), round(y / small_scale), round(w / small_scale), round(h / small_scale))
            for x, y, w, h in candidates
        ]
        # Haar false positives on clothes, walls or patterns are rarely skin-coloured.
        faces = [b for b in boxes if _skin_share(image, b) >= self.min_face_skin]
        faces.sort(key=lambda b: (-b[2] * b[3], b[1], b[0]))
        return faces

    # ---- quality ----------------------------------------------------------------------------

    def _exposure_problems(self, brightness: float, clipped: float) -> list[QualityProblem]:
        if brightness < self.dark_threshold:
            return [quality_problem("too_dark")]
        if brightness > self.bright_threshold or clipped > self.max_clipped_fraction:
            return [quality_problem("too_bright")]
        return []

    def _no_face_quality(self, *, decoded: Decoded, grey: np.ndarray) -> QualityReport:
        """No face: say so, and say whether exposure is the likely reason."""
        brightness = float(grey.mean())
        clipped = float(np.count_nonzero(grey >= CLIPPED_LEVEL)) / grey.size
        return QualityReport(
            passed=False,
            face_found=False,
            brightness=round(brightness, 1),
            width=decoded.width,
            height=decoded.height,
            problems=[*self._exposure_problems(brightness, clipped), quality_problem("no_face")],
        )

    def _quality(self, *, decoded: Decoded, detection: Detection, crop: FaceCrop) -> QualityReport:
        """The gate: exposure, one face, face size and resolution, sharpness."""
        grey = cv2.cvtColor(crop.bgr, cv2.COLOR_BGR2GRAY)
        pixels = grey[crop.valid]
        brightness = float(pixels.mean())
        # Laplacian variance on the face resampled to FACE_SIZE wide: independent of photo size.
        sharpness = float(cv2.Laplacian(grey, cv2.CV_32F)[crop.valid].var())
        _, _, w, h = detection.box
        img_h, img_w = decoded.image.shape[:2]
        fraction = (w * h) / (img_w * img_h)
        problems = self._exposure_problems(
            brightness, float(np.count_nonzero(pixels >= CLIPPED_LEVEL)) / pixels.size
        )
        if detection.similar_faces > 1:
            problems.append(quality_problem("multiple_faces"))
        if fraction < self.min_face_fraction:
            problems.append(quality_problem("face_too_small"))
        if min(w, h) * decoded.scale < self.min_face_px:
            problems.append(quality_problem("low_resolution"))
        # Bad exposure also flattens the Laplacian: report the cause, not the symptom.
        if not any(p.code in EXPOSURE_CODES for p in problems) and sharpness < self.blur_threshold:
            problems.append(quality_problem("blurry"))
        return QualityReport(
            passed=not problems,
            face_found=True,
            face_fraction=round(fraction, 4),
            sharpness=round(sharpness, 1),
            brightness=round(brightness, 1),
            width=decoded.width,
            height=decoded.height,
            problems=problems,
        )

    # ---- measurement and combination --------------------------------------------------------

    def _measure(self, *, crop: FaceCrop, angle: str, profile: bool) -> FaceResult:
        skin = skin_mask(bgr=crop.bgr, valid=crop.valid)
        planes = compute_planes(bgr=crop.bgr, skin=skin, valid=crop.valid)
        rects = region_rects(layout=layout_for(angle=angle, profile=profile), face_size=FACE_SIZE)
        return measure_face(planes=planes, rects=rects)

    def _combine(self, angles: list[AngleAnalysis]) -> dict[str, float]:
        """Per metric, the front-weighted mean over the photos that passed and measured it."""
        weighted = [
            (self.front_weight if a.angle == ScanAngle.FRONT else 1.0, a) for a in angles if a.quality.passed
        ]
        combined: dict[str, float] = {}
        for metric in METRICS:
            pairs = [(weight, a.scores[metric]) for weight, a in weighted if metric in a.scores]
            if pairs:
                combined[metric] = sum(w * v for w, v in pairs) / sum(w for w, _ in pairs)
        if combined:
            combined[OVERALL] = overall_score(combined)
        return {m: round(v, 1) for m, v in combined.items()}
