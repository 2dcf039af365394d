"""What every remote vision model (Gemini, Bedrock) is asked for and how its answer is checked.

One wire schema, built from the metric vocabulary, mirrors the local analyser's result: per
photo, quality flags and problem codes, then 0-100 scores (higher = healthier) or null when
the photo fails a check. An answer is untrusted input: it is validated strictly (no "80" →
80 coercion, no NaN) and checked for rules the schema cannot express; anything else is a
failed analysis with a reason, never repaired and never filled with invented numbers.
Overall scores are ours: the model's per-photo `overall` if it gave one, else the mean.
"""

import io
from statistics import fmean
from typing import Any, Literal

from PIL import Image, ImageDraw, ImageFont, ImageOps
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from app.core.vocabulary import METRICS, OVERALL
from app.providers.vision.base import (
    AngleAnalysis,
    QualityProblem,
    QualityReport,
    ScanAnalysis,
    quality_problem,
)
from app.scans.jpeg import exif_orientation

ProblemCode = Literal[
    "no_face", "face_too_small", "too_dark", "too_bright", "blurry", "low_resolution", "colour_cast"
]


METRIC_HINTS: dict[str, str] = {
    "acne": "few or no active breakouts, comedones or post-acne marks",
    "redness": "little or no redness or irritation",
    "oiliness": "balanced sebum, little visible shine",
    "hydration": "well hydrated, no flaking, tightness or dull dry patches",
    "pores": "pores small and barely visible",
    "wrinkles": "few fine lines and wrinkles",
    "pigmentation": "few dark spots, sun spots or melasma patches",
    "dark_circles": "little darkness under the eyes",
    "texture": "smooth surface, few bumps or rough patches",
    "evenness": "even skin tone across the face",
}

# strict: no "80" → 80 coercion; no NaN/Infinity sneaking past the 0-100 bounds.
_WIRE_CONFIG = ConfigDict(strict=True, allow_inf_nan=False, extra="ignore")


class _WireQuality(BaseModel):
    """What the model reports about one photo's quality."""

    model_config = _WIRE_CONFIG

    face_found: bool
    sharpness_ok: bool
    exposure_ok: bool
    problems: list[ProblemCode]


# Built from the vocabulary so a new metric reaches the schema and the validation at once.
_WireScores: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "SkinScores",
    __config__=_WIRE_CONFIG,
    **{metric: (float, Field(ge=0, le=100)) for metric in METRICS},
    overall=(float | None, Field(None, ge=0, le=100)),
)


class _WireAngle(BaseModel):
    """One photo's answer; `scores` is null when the photo fails a quality check."""

    model_config = _WIRE_CONFIG

    angle: str
    quality: _WireQuality
    scores: _WireScores | None


class WireResult(BaseModel):
    """The whole answer: one entry per photo sent."""

    model_config = _WIRE_CONFIG

    angles: list[_WireAngle]


class InvalidAnswerError(ValueError):
    """The model's answer does not fit the schema or contradicts our rules (the reason is the message)."""


def _build_system_instruction() -> str:
    metric_lines = "\n".join(f"- {metric}: {METRIC_HINTS.get(metric, metric)}" for metric in METRICS)
    return f"""You grade the visible skin condition in face photos for the DermaLens skincare app.
You do not diagnose diseases. Each photo is preceded by a line naming its angle.

First check each photo's quality and list every problem found, using only these codes:
- no_face: no human face is clearly visible (then face_found is false)
- face_too_small: the face covers less than about a tenth of the photo
- too_dark / too_bright: the face is under- or over-exposed (then exposure_ok is false)
- blurry: the face is out of focus or shaken (then sharpness_ok is false)
- low_resolution: the photo is too small to see skin texture
- colour_cast: the light is strongly coloured (green, blue, deep orange)
If a photo has any problem, set its scores to null: never score a photo that fails a check.

Otherwise score every metric from 0 to 100, where HIGHER MEANS HEALTHIER skin, on the
same anchors as DermaLens's own analyser (docs/VISION.md): 100 = none of it visible,
90 = less than most people, about 80 = a typical face without a skin condition (about 70 for
pores and 75 for texture, where typical skin shows some), 60 = clearly
visible but mild, 30 = marked (more than almost any ordinary face). Judge colour relative to the person's own skin, never the light's colour or the skin
tone itself: a darker or warmer-lit face is not redder or more pigmented.
{metric_lines}
- overall: your overall skin health score (optional).

Answer with JSON only, matching the schema, with exactly one entry per photo and the angle
names exactly as given."""


SYSTEM_INSTRUCTION = _build_system_instruction()


def prepare_image(data: bytes, *, max_side: int) -> tuple[bytes, tuple[int, int]]:
    """The bytes to send, upright (turned only when the photo carries an EXIF orientation,
    downscaled only when larger than `max_side`), and the upright size."""
    with Image.open(io.BytesIO(data)) as opened:
        size = opened.size
        if max(size) <= max_side and exif_orientation(opened) in (1, None):
            return data, size
        picture = ImageOps.exif_transpose(opened).convert("RGB")
        size = picture.size
    picture.thumbnail((max_side, max_side))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=90)
    return out.getvalue(), size


def validate_answer(text: str, *, expected: set[str]) -> WireResult:
    """The model's JSON text as a checked result; `InvalidAnswerError` says what is wrong."""
    try:
        result = WireResult.model_validate_json(text)
        _check_consistency(result, expected=expected)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidAnswerError(
            f"{exc.error_count()} schema errors, first at {where}: {first['msg']}"
        ) from exc
    return result


def result_schema() -> dict[str, Any]:
    """The JSON schema of the answer (for models that take one, e.g. a Bedrock tool's input)."""
    return WireResult.model_json_schema()


def to_scan_analysis(
    result: WireResult, *, sizes: dict[str, tuple[int, int]], provider: str, model_version: str
) -> ScanAnalysis:
    """The checked answer as the app's `ScanAnalysis` (the same shape the local analyser returns)."""
    angles = [_angle_analysis(item, size=sizes[item.angle]) for item in result.angles]
    return _combine(angles, provider=provider, model_version=model_version)


def caption_overlay(image: bytes, analysis: AngleAnalysis, *, label: str) -> bytes:
    """The photo with a caption bar: remote models give no boxes or regions to draw."""
    with Image.open(io.BytesIO(image)) as opened:
        picture = ImageOps.exif_transpose(opened).convert("RGB")
    caption = f"DermaLens - {label} analysis"
    if OVERALL in analysis.scores:
        caption += f" - overall {analysis.scores[OVERALL]:.0f}/100"
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default()
    bar = max(18, picture.height // 20)
    draw.rectangle((0, picture.height - bar, picture.width, picture.height), fill=(0, 0, 0))
    draw.text((8, picture.height - bar + (bar - 11) // 2), caption, fill=(255, 255, 255), font=font)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=90)
    return out.getvalue()


def _check_consistency(result: WireResult, *, expected: set[str]) -> None:
    """Reject answers that are valid JSON but break the rules the schema cannot express."""
    answered = [item.angle for item in result.angles]
    if len(answered) != len(set(answered)) or set(answered) != expected:
        raise InvalidAnswerError(f"answered for angles {sorted(answered)}, expected {sorted(expected)}")
    for item in result.angles:
        quality = item.quality
        if not quality.exposure_ok and not {"too_dark", "too_bright"} & set(quality.problems):
            raise InvalidAnswerError(f"{item.angle}: exposure_ok is false without too_dark/too_bright")
        passed = not _problem_codes(quality)
        if passed and item.scores is None:
            raise InvalidAnswerError(f"{item.angle}: passed every check but has no scores")


def _problem_codes(quality: _WireQuality) -> list[ProblemCode]:
    """The model's codes plus the ones its flags imply, without duplicates, in a stable order."""
    codes = list(dict.fromkeys(quality.problems))
    if not quality.face_found and "no_face" not in codes:
        codes.insert(0, "no_face")
    if not quality.sharpness_ok and "blurry" not in codes:
        codes.append("blurry")
    return codes


def _angle_analysis(item: _WireAngle, *, size: tuple[int, int]) -> AngleAnalysis:
    codes = _problem_codes(item.quality)
    report = QualityReport(
        passed=not codes,
        face_found=item.quality.face_found,
        width=size[0],
        height=size[1],
        problems=[quality_problem(code) for code in codes],
    )
    scores: dict[str, float] = {}
    if report.passed and item.scores is not None:
        raw: dict[str, Any] = item.scores.model_dump()
        scores = {metric: round(float(raw[metric]), 1) for metric in METRICS}
        overall = raw.get(OVERALL)
        scores[OVERALL] = round(float(overall) if overall is not None else fmean(scores.values()), 1)
    return AngleAnalysis(angle=item.angle, quality=report, scores=scores)


def _combine(angles: list[AngleAnalysis], *, provider: str, model_version: str) -> ScanAnalysis:
    """One scan result: scores averaged over the photos, only when every photo passed."""
    passed = all(angle.quality.passed for angle in angles)
    problems = [
        QualityProblem(code=problem.code, message=f"{angle.angle.capitalize()} photo: {problem.message}")
        for angle in angles
        for problem in angle.quality.problems
    ]
    scores: dict[str, float] = {}
    if passed:
        for metric in (*METRICS, OVERALL):
            scores[metric] = round(fmean(angle.scores[metric] for angle in angles), 1)
    return ScanAnalysis(
        provider=provider,
        model_version=model_version,
        passed_quality=passed,
        scores=scores,
        angles=angles,
        problems=problems,
    )
