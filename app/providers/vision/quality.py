"""The local analyser's quality gate: exposure, colour cast, one face, size, resolution, pose,
sharpness; every threshold with a margin that no benign capture change crosses on our set."""

from dataclasses import dataclass

import cv2
import numpy as np

from app.core.vocabulary import ScanAngle
from app.providers.vision.base import QualityProblem, QualityReport, quality_problem
from app.providers.vision.frames import Decoded, Face, Prepared, yaw_ratio
from app.providers.vision.regions import IOD_PX, mesh_in_crop

EXPOSURE_CODES = frozenset({"too_dark", "too_bright", "colour_cast"})
CLIPPED_LEVEL = 250
# Without a face: Laplacian variance of the whole photo at 512 px; ordinary photos score > 70.
NO_FACE_SHARPNESS_SIDE = 512
NO_FACE_BLUR_THRESHOLD = 15.0


@dataclass(frozen=True)
class QualityGate:
    """Thresholds of the gate (defaults calibrated with bench/vision_trust.py)."""

    min_face_fraction: float = 0.03
    min_eye_distance_px: float = 30.0
    dark_threshold: float = 40.0
    bright_threshold: float = 230.0
    max_clipped_fraction: float = 0.10
    # Skin whose colour is mostly unknown (some channel clipped on most of the face): colour
    # metrics would stand on a few pixels. On our set the most clipped photo is at 0.75 as sent
    # and 0.94 at +8% exposure; a lower threshold would flip its verdict on a benign change.
    max_colour_clipped_fraction: float = 0.97
    max_cast_ratio: float = 0.97
    blur_threshold: float = 4.5
    max_yaw_offset: float = 0.22

    def exposure_problems(self, brightness: float, clipped: float) -> list[QualityProblem]:
        if brightness < self.dark_threshold:
            return [quality_problem("too_dark")]
        if brightness > self.bright_threshold or clipped > self.max_clipped_fraction:
            return [quality_problem("too_bright")]
        return []

    def no_face(self, *, decoded: Decoded) -> QualityReport:
        """No face: say so, and say whether exposure is the likely reason."""
        grey = cv2.cvtColor(decoded.image, cv2.COLOR_BGR2GRAY)
        brightness = float(grey.mean())
        clipped = float(np.count_nonzero(grey >= CLIPPED_LEVEL)) / grey.size
        problems = self.exposure_problems(brightness, clipped)
        # A photo blurred beyond recognition hides the face: say so, it is what the user can fix.
        f = NO_FACE_SHARPNESS_SIDE / max(grey.shape)
        small = cv2.resize(grey, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else grey
        sharpness = float(cv2.Laplacian(small, cv2.CV_32F).var())
        if not problems and sharpness < NO_FACE_BLUR_THRESHOLD:
            problems.append(quality_problem("blurry"))
        return QualityReport(
            passed=False,
            face_found=False,
            sharpness=round(sharpness, 1),
            brightness=round(brightness, 1),
            width=decoded.width,
            height=decoded.height,
            problems=[*problems, quality_problem("no_face")],
        )

    def check(
        self, *, decoded: Decoded, face: Face, prepared: Prepared, angle: str
    ) -> tuple[QualityReport, dict[str, float]]:
        """The gate: exposure, colour cast, one face, face size and resolution, pose, sharpness."""
        grey = cv2.cvtColor(prepared.crop, cv2.COLOR_BGR2GRAY)
        area = prepared.face & prepared.valid
        pixels = grey[area] if area.any() else grey[prepared.valid]
        brightness = float(np.median(pixels))
        # Blown-out = every channel clipped (a bright red channel alone is normal on light skin).
        clipped = float(np.count_nonzero(prepared.crop[area].min(axis=1) >= CLIPPED_LEVEL)) / max(
            1, area.sum()
        )
        colour_clipped = float(np.count_nonzero(prepared.crop[area].max(axis=1) >= CLIPPED_LEVEL)) / max(
            1, area.sum()
        )
        # Laplacian variance on the fixed-scale crop: independent of the photo's size.
        sharpness = float(cv2.Laplacian(grey, cv2.CV_32F)[area].var()) if area.any() else 0.0
        img_h, img_w = decoded.image.shape[:2]
        _, _, w, h = face.box
        fraction = (w * h) / (img_w * img_h)
        eye_px = IOD_PX / face.alignment.scale * decoded.scale
        b, g, r = (float(v) for v in prepared.reference)
        cast = max(g / r, b / r)
        yaw = yaw_ratio(mesh_in_crop(face.mesh, face.alignment))
        problems = self.exposure_problems(brightness, clipped)
        if not problems and colour_clipped > self.max_colour_clipped_fraction:
            problems.append(quality_problem("too_bright"))
        if not problems and cast > self.max_cast_ratio:
            problems.append(quality_problem("colour_cast"))
        if face.similar_faces > 1:
            problems.append(quality_problem("multiple_faces"))
        if fraction < self.min_face_fraction:
            problems.append(quality_problem("face_too_small"))
        if eye_px < self.min_eye_distance_px:
            problems.append(quality_problem("low_resolution"))
        if angle == ScanAngle.FRONT and abs(yaw - 0.5) > self.max_yaw_offset:
            problems.append(quality_problem("face_turned"))
        # Bad exposure also flattens the Laplacian: report the cause, not the symptom.
        if not any(p.code in EXPOSURE_CODES for p in problems) and sharpness < self.blur_threshold:
            problems.append(quality_problem("blurry"))
        report = QualityReport(
            passed=not problems,
            face_found=True,
            face_fraction=round(fraction, 4),
            sharpness=round(sharpness, 1),
            brightness=round(brightness, 1),
            width=decoded.width,
            height=decoded.height,
            problems=problems,
        )
        facts = {
            "clipped_fraction": round(clipped, 4),
            "colour_clipped_fraction": round(colour_clipped, 4),
            "cast_ratio": round(cast, 4),
            "yaw_ratio": round(yaw, 4),
            "skin_lin_b": round(b, 5),
            "skin_lin_g": round(g, 5),
            "skin_lin_r": round(r, 5),
        }
        return report, facts
