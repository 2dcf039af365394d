"""The vision contract: every provider returns a `ScanAnalysis`, whatever it runs on.

Scores are 0-100, higher = healthier skin, for every metric in `app.core.vocabulary.METRICS`
plus `overall`. A provider never raises for a bad photo: it returns `passed_quality=False`
with problem codes the app can show. It raises `AnalysisFailedError` only when it cannot
analyse at all (e.g. the remote model is down or answered nonsense).
"""

from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from app.core.errors import DomainError


class AnalysisFailedError(DomainError):
    """The analysis could not run; `code` says why (stored on the failed scan)."""

    status_code = 503
    code = "analysis_failed"
    message = "The skin analysis could not be completed."


class QualityProblem(BaseModel):
    code: str = Field(
        description="no_face, face_too_small, too_dark, too_bright, blurry, low_resolution, ..."
    )
    message: str = Field(description="What the user should do differently.")


# What the app shows for each quality problem, whichever provider found it.
QUALITY_MESSAGES: dict[str, str] = {
    "no_face": "We could not find a face. Look straight at the camera with your whole face uncovered.",
    "multiple_faces": "More than one face is in the photo. Retake it with only your face in the frame.",
    "face_too_small": "Your face is too small in the photo. Hold the camera closer so your face fills the frame.",
    "low_resolution": "The photo has too little detail of your face. Use the main camera or move closer.",
    "too_dark": "The photo is too dark. Face a window or a soft light and avoid backlight.",
    "too_bright": "The photo is overexposed. Avoid direct sunlight or flash on your face.",
    "blurry": "The photo is blurry. Hold the phone steady, tap to focus on your face and retake it.",
    "colour_cast": "The light is strongly coloured. Retake the photo in daylight or under white light.",
    "face_turned": "Your face is turned away. For the front photo, look straight at the camera.",
}


def quality_problem(code: str) -> QualityProblem:
    return QualityProblem(code=code, message=QUALITY_MESSAGES[code])


class QualityReport(BaseModel):
    passed: bool
    face_found: bool
    face_fraction: float = Field(0.0, description="Face box area / image area.")
    sharpness: float = Field(0.0, description="Variance of the Laplacian on the face (grey, 0-255 scale).")
    brightness: float = Field(0.0, description="Mean luminance of the face, 0-255.")
    width: int
    height: int
    problems: list[QualityProblem] = Field(default_factory=list)


class Box(BaseModel):
    x: int
    y: int
    w: int
    h: int


class AngleAnalysis(BaseModel):
    """One photo's result."""

    angle: str
    quality: QualityReport
    face_box: Box | None = None
    scores: dict[str, float] = Field(default_factory=dict, description="metric → 0-100, with overall")
    regions: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="region (forehead, left_cheek, ...) → metric → 0-100"
    )
    measurements: dict[str, float] = Field(default_factory=dict, description="raw pixel measurements")


class ScanAnalysis(BaseModel):
    """A whole scan's result: per-angle results combined into one set of scores."""

    provider: str
    model_version: str
    passed_quality: bool
    scores: dict[str, float] = Field(default_factory=dict)
    angles: list[AngleAnalysis]
    problems: list[QualityProblem] = Field(default_factory=list)


class VisionProvider(Protocol):
    """Analyse one scan's photos (angle → JPEG bytes, already validated and EXIF-stripped)."""

    name: str

    def analyze(self, images: dict[str, bytes]) -> ScanAnalysis: ...

    def render_overlay(self, image: bytes, analysis: AngleAnalysis) -> bytes:
        """A JPEG of the photo with face box, regions and detected spots drawn on it."""
        ...


@runtime_checkable
class PhotoDecoder(Protocol):
    """A provider that decodes the photos itself, strictly (a damaged JPEG raises), and can be
    given them decoded: a one-call upload's worker decodes first and tells the request, whose
    validity check that decode then is (the local provider; remote ones send the bytes)."""

    def decode_photos(self, images: dict[str, bytes]) -> dict[str, Any]: ...

    def analyze(self, images: dict[str, bytes], *, decoded: dict[str, Any] | None = None) -> ScanAnalysis: ...
