"""The offline vision provider: MediaPipe face mesh (LiteRT) and pixel measurements.

Pipeline per photo: decode (reduced-size DCT decode for big JPEGs) → BlazeFace detection and
the 468-point face mesh → upright crop at a fixed eye distance (scale-invariant) → quality
gate → landmark polygons → colour normalised by the face's own skin → metrics. The photos of a
scan are then combined into one set of scores. docs/VISION.md has the details.
"""

import math
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from app.core.vocabulary import METRICS, OVERALL, ScanAngle
from app.providers.vision import landmarks as lm
from app.providers.vision.base import (
    AnalysisFailedError,
    AngleAnalysis,
    Box,
    ScanAnalysis,
)
from app.providers.vision.frames import Decoded, Face, Prepared, decode
from app.providers.vision.metrics import (
    REDNESS_REFERENCE,
    FaceResult,
    compute_planes,
    make_regions,
    measure_face,
    overall_score,
    skin_reference,
    srgb_to_linear,
)
from app.providers.vision.overlay import draw_overlay, encode_jpeg
from app.providers.vision.planes import Blob
from app.providers.vision.quality import QualityGate
from app.providers.vision.regions import (
    IOD_PX,
    Rect,
    align,
    mesh_in_crop,
    polygon_masks,
    region_polygons,
    warp_face,
)

ANGLE_ORDER: tuple[str, ...] = tuple(a.value for a in ScanAngle)
# The overlay is drawn on the analysis's own decoded frame (a 12 MP photo's is its 1/4-scale
# decode, 1000x750), shrunk to at most this many pixels on its long side: more than a phone
# screen shows of it, and no second decode or full-size encode of the stored photo.
OVERLAY_MAX_LONG_SIDE = 1600
# Analyses whose overlay (shapes and canvas, ≤ 1600 px: ≤ 6 MB each) is kept for
# `render_overlay`, which the worker calls right after each analysis; one per worker suffices.
REMEMBERED_OVERLAYS = 4


def overlay_canvas(frame: np.ndarray) -> np.ndarray:
    """The analysis's decoded frame, shrunk (area-averaged) to ≤ OVERLAY_MAX_LONG_SIDE px long."""
    height, width = frame.shape[:2]
    longer = max(width, height)
    if longer <= OVERLAY_MAX_LONG_SIDE:
        return frame
    ratio = OVERLAY_MAX_LONG_SIDE / longer
    size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class Drawing:
    """What an overlay draws, in original photo pixels: region polygons and spots (kind, x, y, r)."""

    regions: dict[str, list[tuple[int, int]]]
    spots: list[tuple[str, int, int, int]]


@dataclass(frozen=True)
class Remembered:
    """An analysis's overlay material: the analysed bytes, the shapes, the canvas, the photo width."""

    analysis: "weakref.ref[AngleAnalysis]"
    image: bytes
    drawing: Drawing
    canvas: np.ndarray
    width: int


def _drawing_of(decoded: Decoded, face: Face, prepared: Prepared, blobs: Sequence[Blob]) -> Drawing:
    s = decoded.scale

    def to_original(points: np.ndarray) -> list[tuple[int, int]]:
        photo = face.alignment.to_photo(np.asarray(points, np.float64)) * s
        return [(round(px), round(py)) for px, py in photo]

    regions = {name: to_original(poly) for name, poly in prepared.polygons.items()}
    px_per_crop = s / face.alignment.scale
    spots = []
    for blob in blobs:
        (x, y), *_ = to_original(np.array([[blob.x, blob.y]]))
        spots.append((str(blob.kind), x, y, round(blob.radius * px_per_crop)))
    return Drawing(regions=regions, spots=spots)


# The white-balance reference: cheeks, forehead, nose and chin together.
REFERENCE_REGIONS = ("forehead", "left_cheek", "right_cheek", "nose", "chin")
# What a side photo scores: the cheek metrics (the rest needs the whole face, seen from the front).
SIDE_REGIONS = ("left_cheek", "right_cheek")
SIDE_METRICS = frozenset({"acne", "redness", "hydration", "pores", "pigmentation", "texture"})


class LocalVisionProvider:
    """Offline skin analysis: MediaPipe face mesh and pixel measurements relative to the face."""

    name = "local"
    model_version = "local-mesh-7"

    def __init__(
        self,
        *,
        min_face_fraction: float = 0.03,
        min_eye_distance_px: float = 30.0,
        dark_threshold: float = 40.0,
        bright_threshold: float = 230.0,
        max_clipped_fraction: float = 0.10,
        max_colour_clipped_fraction: float = 0.97,
        max_cast_ratio: float = 0.97,
        blur_threshold: float = 4.5,
        max_yaw_offset: float = 0.22,
        decode_min_side: int = 720,
        second_face_ratio: float = 0.6,
        front_weight: float = 2.0,
    ) -> None:
        if not lm.available():
            raise AnalysisFailedError(
                "The face models or the LiteRT runtime are missing (pip install -r requirements.txt).",
                code="detector_unavailable",
            )
        self.gate = QualityGate(
            min_face_fraction=min_face_fraction,
            min_eye_distance_px=min_eye_distance_px,
            dark_threshold=dark_threshold,
            bright_threshold=bright_threshold,
            max_clipped_fraction=max_clipped_fraction,
            max_colour_clipped_fraction=max_colour_clipped_fraction,
            max_cast_ratio=max_cast_ratio,
            blur_threshold=blur_threshold,
            max_yaw_offset=max_yaw_offset,
        )
        self.decode_min_side = decode_min_side
        self.second_face_ratio = second_face_ratio
        self.front_weight = front_weight
        # Keyed by the identity of the AngleAnalysis returned (checked through a weak
        # reference): hashing the photo's bytes for the key cost ≈ 3 ms a time on a 12 MP JPEG.
        self._remembered: OrderedDict[int, Remembered] = OrderedDict()
        self._remembered_lock = threading.Lock()

    # ---- public API -------------------------------------------------------------------------

    def doctor_check(self) -> tuple[bool, str]:
        """Offline: ready whenever the face models and the LiteRT runtime load."""
        if not lm.available():
            return False, "local vision: the face models or the LiteRT runtime are missing"
        return True, f"local vision ({self.model_version}): offline, nothing to reach"

    def decode_photos(self, images: dict[str, bytes]) -> dict[str, Decoded]:
        """Every photo decoded as `analyze` reads it; a damaged JPEG raises (see frames.decode)."""
        return {angle: decode(data=data, min_side=self.decode_min_side) for angle, data in images.items()}

    def analyze(self, images: dict[str, bytes], *, decoded: dict[str, Decoded] | None = None) -> ScanAnalysis:
        """Analyse a scan's photos (angle → bytes) and combine them; the front photo decides.

        `decoded`: the photos already decoded by `decode_photos` (a one-call upload's worker
        decodes first, since that decode is the request's validity check)."""
        unknown = set(images) - set(ANGLE_ORDER)
        if unknown:
            raise AnalysisFailedError(f"Unknown photo angles: {sorted(unknown)}.", code="invalid_angle")
        if ScanAngle.FRONT not in images:
            raise AnalysisFailedError("The front photo is missing.", code="missing_front_photo")
        frames = decoded or {}
        angles = [
            self.analyze_angle(angle=a, data=images[a], decoded=frames.get(a))
            for a in ANGLE_ORDER
            if a in images
        ]
        front = angles[0]
        return ScanAnalysis(
            provider=self.name,
            model_version=self.model_version,
            passed_quality=front.quality.passed,
            scores=combine_angles(angles, front_weight=self.front_weight) if front.quality.passed else {},
            angles=angles,
            problems=list(front.quality.problems),
        )

    def analyze_angle(self, *, angle: str, data: bytes, decoded: Decoded | None = None) -> AngleAnalysis:
        """Quality gate and, if it passes, scores for one photo (`decoded`: `data` already decoded)."""
        if decoded is None:
            decoded = decode(data=data, min_side=self.decode_min_side)
        face = self._find_face(decoded.image)
        if face is None:
            return AngleAnalysis(angle=angle, quality=self.gate.no_face(decoded=decoded))
        prepared = self._prepare(decoded.image, face)
        quality, facts = self.gate.check(decoded=decoded, face=face, prepared=prepared, angle=angle)
        s = decoded.scale
        x, y, w, h = face.box
        face_box = Box(x=round(x * s), y=round(y * s), w=round(w * s), h=round(h * s))
        a = face.alignment
        measurements = {
            "decode_reduction": float(decoded.reduction),
            "eye_mid_x": round(a.eye_mid[0] * s, 2),
            "eye_mid_y": round(a.eye_mid[1] * s, 2),
            "eye_distance_px": round(IOD_PX / a.scale * s, 2),
            "roll_deg": round(math.degrees(a.roll), 2),
            **facts,
        }
        if not quality.passed:
            return AngleAnalysis(angle=angle, quality=quality, face_box=face_box, measurements=measurements)
        result = self._measure(prepared, angle=angle)
        analysed = AngleAnalysis(
            angle=angle,
            quality=quality,
            face_box=face_box,
            scores=result.scores,
            regions=result.regions,
            measurements={**measurements, **result.measurements},
        )
        drawing = _drawing_of(decoded, face, prepared, result.blobs)
        self._remember(analysed, data, drawing, overlay_canvas(decoded.image), decoded.width)
        return analysed

    def render_overlay(self, image: bytes, analysis: AngleAnalysis) -> bytes:
        """A JPEG of the photo with face box, region polygons and detected spots.

        Drawn on the analysis's own decoded frame (DCT-reduced for big JPEGs: a 12 MP photo's
        at 1/4), shrunk to at most OVERLAY_MAX_LONG_SIDE px on the long side. Right after an
        analysis of these bytes (the worker's case) its shapes and frame are reused, so the
        photo is neither decoded nor searched for a face again; otherwise both are redone at
        the analysis's scale, which gives the same overlay.
        """
        found = self._recall(image, analysis)
        if found is not None:
            drawing: Drawing | None = found.drawing
            canvas, width = found.canvas, found.width
        else:
            decoded = decode(data=image, min_side=self.decode_min_side)
            drawing = self._drawing(decoded, analysis)
            canvas, width = overlay_canvas(decoded.image), decoded.width
        box = analysis.face_box
        if box is None or drawing is None:
            return encode_jpeg(canvas)
        k = width / canvas.shape[1]  # original pixels per canvas pixel

        def scaled(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
            return [(round(x / k), round(y / k)) for x, y in points]

        regions = {name: scaled(points) for name, points in drawing.regions.items()}
        spots = [(kind, round(x / k), round(y / k), round(r / k)) for kind, x, y, r in drawing.spots]
        rect = Rect(
            x0=round(box.x / k),
            y0=round(box.y / k),
            x1=round((box.x + box.w) / k),
            y1=round((box.y + box.h) / k),
        )
        return encode_jpeg(draw_overlay(canvas=canvas, face=rect, regions=regions, spots=spots))

    def _drawing(self, decoded: Decoded, analysis: AngleAnalysis) -> "Drawing | None":
        """The overlay's shapes in original pixels, from a fresh analysis of the decoded photo."""
        face = self._find_face(decoded.image) if analysis.face_box is not None else None
        if face is None:
            return None
        prepared = self._prepare(decoded.image, face)
        blobs = self._measure(prepared, angle=analysis.angle).blobs if analysis.scores else ()
        return _drawing_of(decoded, face, prepared, blobs)

    def _remember(
        self, analysis: AngleAnalysis, image: bytes, drawing: Drawing, canvas: np.ndarray, width: int
    ) -> None:
        entry = Remembered(
            analysis=weakref.ref(analysis), image=image, drawing=drawing, canvas=canvas, width=width
        )
        with self._remembered_lock:
            self._remembered[id(analysis)] = entry
            self._remembered.move_to_end(id(analysis))
            while len(self._remembered) > REMEMBERED_OVERLAYS:
                self._remembered.popitem(last=False)

    def _recall(self, image: bytes, analysis: AngleAnalysis) -> Remembered | None:
        """The remembered material of this very analysis of these very bytes, once."""
        with self._remembered_lock:
            entry = self._remembered.pop(id(analysis), None)
        if entry is None or entry.analysis() is not analysis:
            return None  # forgotten, or an id reused by a newer object
        return entry if entry.image is image or entry.image == image else None

    # ---- detection --------------------------------------------------------------------------

    def _find_face(self, image: np.ndarray) -> Face | None:
        """The largest detected face with a mesh, and how many faces are of similar size."""
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        # cv2.flip writes the mirror in one pass (≈ 15x quicker than a NumPy reversed-view copy).
        flipped = cv2.flip(rgb, 1)
        width = rgb.shape[1]
        detections = lm.detect_faces(rgb)
        if not detections:
            return None
        detections.sort(key=lambda d: -d.box[2] * d.box[3])
        # The face is found in the photo and in its mirror, and every step averages both, so the
        # analysis of a mirrored photo is exactly the mirror of this one (no score can move).
        best = detections[0]
        mirrored = sorted(lm.detect_faces(flipped), key=lambda d: -d.box[2] * d.box[3])
        if mirrored and lm.iou(best.box, lm.mirror_detection(mirrored[0], width).box) > 0.5:
            best = lm.average_detections(best, lm.mirror_detection(mirrored[0], width))
        shrinks = lm.Shrinks(rgb)
        found = lm.face_mesh(rgb, best, shrinks=shrinks)
        if found is None:
            return None
        mesh, _ = found
        found_mirror = lm.face_mesh(
            flipped, lm.mirror_detection(best, width), shrinks=lm.Shrinks(flipped, mirror_of=shrinks)
        )
        if found_mirror is not None:
            mesh = lm.symmetrise(mesh, found_mirror[0], width)
        similar = sum(1 for d in detections if d.box[2] >= self.second_face_ratio * best.box[2])
        lo, hi = mesh[:, :2].min(0), mesh[:, :2].max(0)
        box = (float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1]))
        return Face(mesh=mesh, alignment=align(mesh), box=box, similar_faces=similar)

    def _prepare(self, image: np.ndarray, face: Face) -> Prepared:
        """The upright fixed-scale crop, region polygons and the face's own skin white point."""
        crop, valid = warp_face(image, face.alignment)
        polygons = region_polygons(mesh_in_crop(face.mesh, face.alignment))
        masks = {n: m & valid for n, m in polygon_masks(polygons).items()}
        union = np.zeros(valid.shape, bool)
        for m in masks.values():
            union |= m
        reference_mask = np.zeros(valid.shape, bool)
        for n in REFERENCE_REGIONS:
            if n in masks:
                reference_mask |= masks[n]
        ref = skin_reference(srgb_to_linear(crop), reference_mask)
        return Prepared(
            crop=crop,
            valid=valid,
            polygons=polygons,
            masks=masks,
            face=union,
            reference=ref,
            shrink=1.0 / face.alignment.scale,
        )

    # ---- measurement and combination --------------------------------------------------------

    def _measure(self, prepared: Prepared, *, angle: str) -> FaceResult:
        planes = compute_planes(
            bgr=prepared.crop,
            valid=prepared.valid,
            reference=prepared.reference,
            face=prepared.face,
            shrink=prepared.shrink,
        )
        masks = prepared.masks
        if angle != ScanAngle.FRONT:
            # A side photo shows the cheeks well; forehead and chin stay as redness's reference.
            masks = {n: m for n, m in masks.items() if n in (*SIDE_REGIONS, *REDNESS_REFERENCE)}
        regs = make_regions(planes=planes, masks=masks, valid=prepared.valid)
        result = measure_face(planes=planes, regs=regs)
        if angle == ScanAngle.FRONT:
            return result
        scores = {m: v for m, v in result.scores.items() if m in SIDE_METRICS}
        if scores:
            scores[OVERALL] = round(overall_score(scores), 1)
        regions = {n: v for n, v in result.regions.items() if n in SIDE_REGIONS}
        return FaceResult(
            scores=scores, regions=regions, measurements=result.measurements, blobs=result.blobs
        )


def combine_angles(angles: list[AngleAnalysis], *, front_weight: float) -> dict[str, float]:
    """Per metric, the front-weighted mean over the photos that passed and measured it."""
    weighted = [(front_weight if a.angle == ScanAngle.FRONT else 1.0, a) for a in angles if a.quality.passed]
    combined: dict[str, float] = {}
    for metric in METRICS:
        pairs = [(weight, a.scores[metric]) for weight, a in weighted if metric in a.scores]
        if pairs:
            combined[metric] = sum(w * v for w, v in pairs) / sum(w for w, _ in pairs)
    if combined:
        combined[OVERALL] = overall_score(combined)
    return {m: round(v, 1) for m, v in combined.items()}
