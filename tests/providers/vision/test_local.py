"""The local vision provider on real photos: scikit-image's astronaut (a face) and non-faces."""

import math
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import cv2
import numpy as np
import pytest
import skimage.data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.vocabulary import METRICS, METRICS_WITH_OVERALL
from app.providers.vision.base import AnalysisFailedError, AngleAnalysis, ScanAnalysis
from app.providers.vision.local import LocalVisionProvider
from app.providers.vision.metrics import MAPPINGS, OVERALL_WEIGHTS, Falling
from app.providers.vision.regions import REGION_NAMES

# The 512x512 astronaut's face is ~93 px and ~3% of the frame: a 3:4 portrait crop around it,
# enlarged 2.5x, looks like a selfie (face ~10% of the frame, ~260 px wide).
PORTRAIT_ROWS, PORTRAIT_COLS, PORTRAIT_ZOOM = slice(0, 400), slice(90, 390), 2.5
# The face centre in the portrait, from the astronaut's face at about (224, 114).
FACE_CENTRE = ((224 - 90) * PORTRAIT_ZOOM, 114 * PORTRAIT_ZOOM)
CHEEK_METRICS = {"acne", "redness", "hydration", "pores", "pigmentation", "texture"}


def to_bgr(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def jpeg(image: np.ndarray, quality: int = 92) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image)
    assert ok
    return buf.tobytes()


@cache
def portrait() -> np.ndarray:
    """The astronaut as a selfie-like BGR portrait (750x1000). Do not modify: copy first."""
    crop = to_bgr(skimage.data.astronaut())[PORTRAIT_ROWS, PORTRAIT_COLS]
    return cv2.resize(crop, None, fx=PORTRAIT_ZOOM, fy=PORTRAIT_ZOOM, interpolation=cv2.INTER_CUBIC)


@cache
def provider() -> LocalVisionProvider:
    return LocalVisionProvider()


@cache
def baseline() -> AngleAnalysis:
    return provider().analyze_angle(angle="front", data=jpeg(portrait()))


def codes(analysis: AngleAnalysis | ScanAnalysis) -> set[str]:
    problems = analysis.quality.problems if isinstance(analysis, AngleAnalysis) else analysis.problems
    return {p.code for p in problems}


def cheek_points(analysis: AngleAnalysis) -> list[tuple[int, int]]:
    """Eight points on the cheeks (eye distances from the eye midpoint), in photo pixels."""
    m = analysis.measurements
    d, roll = m["eye_distance_px"], math.radians(m["roll_deg"])
    cos, sin = math.cos(roll), math.sin(roll)
    points = []
    for u in (-0.75, -0.55, 0.55, 0.75):
        for v in (0.72, 0.92):
            x, y = u * d, v * d
            points.append(
                (round(m["eye_mid_x"] + cos * x - sin * y), round(m["eye_mid_y"] + sin * x + cos * y))
            )
    return points


def cheek_flush(image: np.ndarray, analysis: AngleAnalysis, strength: float) -> np.ndarray:
    """The photo with both cheeks flushed: green and blue reduced under a soft disc."""
    d = analysis.measurements["eye_distance_px"]
    mask = np.zeros(image.shape[:2], np.float32)
    for x, y in cheek_points(analysis)[::4] + cheek_points(analysis)[3::4]:
        cv2.circle(mask, (x, y), round(0.25 * d), 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 0.12 * d)[..., None]
    loss = 1.0 - strength * mask * np.array([1.0, 1.0, 0.0], np.float32)  # BGR: not red
    return np.clip(image.astype(np.float32) * loss, 0, 255).astype(np.uint8)


# ---- detection and the quality gate ----------------------------------------------------------


def test_face_mesh_finds_the_astronaut_face_and_eyes() -> None:
    result = baseline()
    assert result.quality.face_found
    box = result.face_box
    assert box is not None
    centre = (box.x + box.w / 2, box.y + box.h / 2)
    assert math.dist(centre, FACE_CENTRE) < 0.2 * box.w
    # The eyes of the 2.5x astronaut are ~43 px x 2.5 apart, and her head is nearly upright.
    assert 95 < result.measurements["eye_distance_px"] < 120
    assert abs(result.measurements["roll_deg"]) < 6


def test_astronaut_passes_and_gets_every_metric_in_range() -> None:
    scan = provider().analyze({"front": jpeg(portrait())})
    assert scan.provider == "local"
    assert scan.model_version == provider().model_version
    assert scan.passed_quality
    assert scan.problems == []
    assert set(scan.scores) == set(METRICS_WITH_OVERALL)
    for value in scan.scores.values():
        assert 0.0 <= value <= 100.0
        assert value == round(value, 1)
    front = scan.angles[0]
    assert front.quality.passed
    assert front.quality.width == 750
    assert front.quality.height == 1000
    assert 0.04 <= front.quality.face_fraction <= 0.3
    # Her fringe covers the forehead: a region with too little skin is left out, not guessed.
    assert {"left_cheek", "right_cheek", "nose", "chin"} <= set(front.regions) <= set(REGION_NAMES)
    assert all(0.0 <= v <= 100.0 for scores in front.regions.values() for v in scores.values())
    assert {f"{m}.raw" for m in METRICS} <= set(front.measurements)


def test_png_input_is_analysed_too() -> None:
    result = provider().analyze_angle(angle="front", data=png(portrait()))
    assert result.quality.passed
    assert set(result.scores) == set(METRICS_WITH_OVERALL)


def test_overall_is_the_documented_weighted_mean() -> None:
    scores = baseline().scores
    expected = sum(OVERALL_WEIGHTS[m] * scores[m] for m in METRICS)
    assert scores["overall"] == pytest.approx(expected, abs=0.1)


@pytest.mark.parametrize("name", ["coffee", "chelsea", "rocket"])
def test_photos_without_a_face_fail_with_no_face(name: str) -> None:
    photo = to_bgr(getattr(skimage.data, name)())
    scan = provider().analyze({"front": jpeg(photo)})
    assert not scan.passed_quality
    assert "no_face" in codes(scan)
    assert scan.scores == {}
    assert scan.angles[0].face_box is None
    assert not scan.angles[0].quality.face_found


def test_gaussian_blur_fails_as_blurry() -> None:
    blurred = cv2.GaussianBlur(portrait(), (0, 0), 6)
    result = provider().analyze_angle(angle="front", data=jpeg(blurred))
    assert not result.quality.passed
    assert "blurry" in codes(result)
    assert result.scores == {}
    assert result.quality.sharpness < baseline().quality.sharpness


def test_darkened_photo_fails_as_too_dark() -> None:
    dark = (portrait().astype(np.float32) * 0.15).astype(np.uint8)
    result = provider().analyze_angle(angle="front", data=jpeg(dark))
    assert not result.quality.passed
    assert "too_dark" in codes(result)
    assert result.scores == {}


def test_overexposed_photo_fails_as_too_bright() -> None:
    bright = np.clip(portrait().astype(np.float32) * 2.2, 0, 255).astype(np.uint8)
    result = provider().analyze_angle(angle="front", data=jpeg(bright))
    assert "too_bright" in codes(result)


def test_tiny_photo_fails_on_resolution() -> None:
    tiny = cv2.resize(portrait(), (150, 200), interpolation=cv2.INTER_AREA)
    result = provider().analyze_angle(angle="front", data=jpeg(tiny))
    assert not result.quality.passed
    assert codes(result) & {"low_resolution", "face_too_small"}


def test_small_face_in_a_big_frame_fails_as_face_too_small() -> None:
    # The whole astronaut photo inside a grey border, enlarged: the face is ~3% of the frame.
    framed = cv2.copyMakeBorder(
        to_bgr(skimage.data.astronaut()), 32, 32, 32, 32, cv2.BORDER_CONSTANT, value=(128, 128, 128)
    )
    framed = cv2.resize(framed, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    result = provider().analyze_angle(angle="front", data=jpeg(framed))
    assert result.quality.face_found
    assert "face_too_small" in codes(result)
    assert result.quality.face_fraction < 0.04


# ---- metrics respond to controlled edits ----------------------------------------------------


def test_flushed_cheeks_lower_redness() -> None:
    base = baseline()
    result = provider().analyze_angle(angle="front", data=jpeg(cheek_flush(portrait(), base, 0.18)))
    assert result.quality.passed
    assert result.scores["redness"] < base.scores["redness"] - 10
    assert result.measurements["redness.raw"] > base.measurements["redness.raw"]


def test_a_warm_light_over_the_whole_photo_is_not_redness() -> None:
    # Was read as redness when colour was measured absolutely; now it is white-balanced away.
    warm = np.clip(portrait().astype(np.float32) * np.array([0.85, 0.95, 1.08], np.float32), 0, 255)
    result = provider().analyze_angle(angle="front", data=jpeg(warm.astype(np.uint8)))
    assert result.quality.passed
    assert abs(result.scores["redness"] - baseline().scores["redness"]) <= 5


def test_strong_colour_cast_fails_as_colour_cast() -> None:
    green = np.clip(portrait().astype(np.float32) * np.array([0.9, 1.25, 0.7], np.float32), 0, 255)
    result = provider().analyze_angle(angle="front", data=jpeg(green.astype(np.uint8)))
    assert not result.quality.passed
    assert "colour_cast" in codes(result)


def test_skin_with_its_red_channel_clipped_everywhere_fails_as_too_bright() -> None:
    # Not every channel is blown (the old too_bright rule), but the skin's colour is unknown on
    # nearly every pixel: no colour metric can be measured.
    red = np.clip(portrait().astype(np.float32) * np.array([1.0, 1.0, 3.0], np.float32), 0, 255)
    result = provider().analyze_angle(angle="front", data=jpeg(red.astype(np.uint8)))
    assert "too_bright" in codes(result)
    assert result.measurements["colour_clipped_fraction"] > 0.97
    assert result.scores == {}


def test_a_partly_clipped_red_channel_is_still_measured() -> None:
    warm = np.clip(portrait().astype(np.float32) * np.array([1.0, 1.0, 1.25], np.float32), 0, 255)
    result = provider().analyze_angle(angle="front", data=jpeg(warm.astype(np.uint8)))
    assert result.quality.passed
    assert 0.1 < result.measurements["colour_clipped_fraction"] < 0.97


def test_dark_spots_on_the_cheeks_lower_pigmentation() -> None:
    base = baseline()
    spotted = portrait().copy()
    radius = max(2, round(0.05 * base.measurements["eye_distance_px"]))
    for x, y in cheek_points(base):
        darker = tuple(int(c * 0.7) for c in portrait()[y, x])
        cv2.circle(spotted, (x, y), radius, darker, -1, cv2.LINE_AA)
    result = provider().analyze_angle(angle="front", data=jpeg(spotted))
    assert result.quality.passed
    assert result.measurements["dark_spot_count"] >= base.measurements["dark_spot_count"] + 4
    for cheek in ("left_cheek", "right_cheek"):
        assert result.regions[cheek]["pigmentation"] < base.regions[cheek]["pigmentation"] - 10
    assert result.scores["pigmentation"] < base.scores["pigmentation"] - 5


def test_same_bytes_give_identical_results() -> None:
    data = jpeg(portrait())
    first = provider().analyze({"front": data})
    second = LocalVisionProvider().analyze({"front": data})
    assert first.model_dump() == second.model_dump()


def test_concurrent_analyses_agree() -> None:
    data = jpeg(portrait())
    expected = provider().analyze({"front": data}).model_dump()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: provider().analyze({"front": data}).model_dump(), range(8)))
    assert all(r == expected for r in results)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gain=st.floats(0.5, 1.5), bias=st.floats(-40, 40))
def test_scores_stay_in_range_under_brightness_and_contrast_edits(gain: float, bias: float) -> None:
    edited = np.clip(portrait().astype(np.float32) * gain + bias, 0, 255).astype(np.uint8)
    result = provider().analyze_angle(angle="front", data=jpeg(edited))
    assert 0.0 <= result.quality.brightness <= 255.0
    assert result.quality.passed == (result.scores != {})
    for value in result.scores.values():
        assert 0.0 <= value <= 100.0


@given(raw=st.floats(-1e6, 1e6), delta=st.floats(0, 1e6), metric=st.sampled_from(sorted(MAPPINGS)))
def test_mappings_are_bounded_and_falling(raw: float, delta: float, metric: str) -> None:
    mapping: Falling = MAPPINGS[metric]
    low, high = mapping.score(raw), mapping.score(raw + delta)
    assert 0.0 <= high <= low <= 100.0


# ---- several angles -------------------------------------------------------------------------


def test_front_and_side_photos_combine() -> None:
    front = jpeg(portrait())
    side = jpeg(cv2.flip(portrait(), 1))
    scan = provider().analyze({"front": front, "left": side, "right": front})
    assert scan.passed_quality
    assert [a.angle for a in scan.angles] == ["front", "left", "right"]
    assert all(a.quality.passed for a in scan.angles)
    assert set(scan.scores) == set(METRICS_WITH_OVERALL)
    front_a, left_a, right_a = scan.angles
    # Side photos only score what their cheeks show.
    assert set(left_a.scores) - {"overall"} == CHEEK_METRICS
    assert set(left_a.regions) <= {"left_cheek", "right_cheek"}
    for metric in METRICS:
        if metric in CHEEK_METRICS:
            expected = (2 * front_a.scores[metric] + left_a.scores[metric] + right_a.scores[metric]) / 4
        else:
            expected = front_a.scores[metric]
        assert scan.scores[metric] == pytest.approx(expected, abs=0.051)


def test_failed_side_photo_is_reported_but_does_not_block() -> None:
    coffee = jpeg(to_bgr(skimage.data.coffee()))
    scan = provider().analyze({"front": jpeg(portrait()), "right": coffee})
    assert scan.passed_quality
    assert scan.problems == []
    assert "no_face" in codes(scan.angles[1])
    metrics = {m: v for m, v in scan.scores.items() if m != "overall"}
    assert metrics == {m: v for m, v in baseline().scores.items() if m != "overall"}
    # The scan's overall is the weighted mean of the rounded metric scores, the photo's of the
    # unrounded ones: they may differ in the last digit.
    assert scan.scores["overall"] == pytest.approx(baseline().scores["overall"], abs=0.11)


def test_failed_front_photo_fails_the_scan() -> None:
    coffee = jpeg(to_bgr(skimage.data.coffee()))
    scan = provider().analyze({"front": coffee, "left": jpeg(portrait())})
    assert not scan.passed_quality
    assert "no_face" in codes(scan)
    assert scan.scores == {}


# ---- big photos, overlay, errors -----------------------------------------------------------


def test_big_jpeg_is_decoded_reduced_and_reported_in_original_pixels() -> None:
    big = cv2.resize(portrait(), (3000, 4000), interpolation=cv2.INTER_CUBIC)
    data = jpeg(big, quality=85)
    result = provider().analyze_angle(angle="front", data=data)
    assert result.quality.passed
    assert (result.quality.width, result.quality.height) == (3000, 4000)
    assert result.measurements["decode_reduction"] == 4
    box, small_box = result.face_box, baseline().face_box
    assert box is not None
    assert small_box is not None
    assert box.x / 3000 == pytest.approx(small_box.x / 750, abs=0.03)
    assert box.w / 3000 == pytest.approx(small_box.w / 750, abs=0.03)
    overlay = cv2.imdecode(np.frombuffer(provider().render_overlay(data, result), np.uint8), cv2.IMREAD_COLOR)
    # Drawn on the analysis's own 1/4-scale frame: no second decode of the 12 MP photo.
    assert overlay.shape == (1000, 750, 3)
    # Drawn afresh (another process, nothing remembered) it is the same picture.
    assert LocalVisionProvider().render_overlay(data, result) == provider().render_overlay(data, result)


def test_overlay_of_a_photo_decoded_at_full_size_is_at_most_1600_px_long_with_the_box_in_place() -> None:
    # 1350x1800: too small to decode at 1/2 for the analysis, longer than the overlay's 1600 px.
    photo = cv2.resize(portrait(), (1350, 1800), interpolation=cv2.INTER_CUBIC)
    data = jpeg(photo)
    analysing = LocalVisionProvider()
    result = analysing.analyze_angle(angle="front", data=data)
    assert result.quality.passed
    assert result.face_box is not None
    overlay = cv2.imdecode(np.frombuffer(analysing.render_overlay(data, result), np.uint8), cv2.IMREAD_COLOR)
    assert overlay.shape == (1600, 1200, 3)
    # The face box's left edge, in overlay pixels, is drawn in the box colour (BGR 80, 220, 80).
    k = 1350 / 1200
    box = result.face_box
    row, col = round((box.y + box.h / 2) / k), round(box.x / k)
    b, g, r = (int(v) for v in overlay[row, col])
    assert g > 180, (b, g, r)
    assert max(b, r) < 140, (b, g, r)
    # Away from the drawings the overlay is the photo shrunk.
    shrunk = cv2.resize(photo, (1200, 1600), interpolation=cv2.INTER_AREA)
    corner = (slice(0, 200), slice(0, 200))
    assert np.abs(overlay[corner].astype(np.int16) - shrunk[corner].astype(np.int16)).mean() < 3


def test_overlay_drawn_from_the_remembered_analysis_is_the_one_drawn_afresh() -> None:
    data = jpeg(portrait())
    analysing = provider()
    result = analysing.analyze_angle(angle="front", data=data)
    remembered = analysing.render_overlay(data, result)
    afresh = provider().render_overlay(data, result)
    assert remembered == afresh


def test_overlay_is_a_same_size_jpeg_with_drawings() -> None:
    data = jpeg(portrait())
    out = provider().render_overlay(data, baseline())
    assert out[:2] == b"\xff\xd8"
    overlay = cv2.imdecode(np.frombuffer(out, np.uint8), cv2.IMREAD_COLOR)
    assert overlay.shape == portrait().shape
    assert np.abs(overlay.astype(np.int16) - portrait().astype(np.int16)).max() > 100


def test_overlay_of_a_photo_without_face_is_the_photo() -> None:
    coffee = to_bgr(skimage.data.coffee())
    data = jpeg(coffee)
    analysis = provider().analyze_angle(angle="front", data=data)
    overlay = cv2.imdecode(
        np.frombuffer(provider().render_overlay(data, analysis), np.uint8), cv2.IMREAD_COLOR
    )
    assert overlay.shape == coffee.shape


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\xff\xd8\xff\xe0" + b"\x00" * 64])
def test_undecodable_bytes_raise(data: bytes) -> None:
    with pytest.raises(AnalysisFailedError) as info:
        provider().analyze({"front": data})
    assert info.value.code == "undecodable_image"


def test_front_photo_is_required_and_angles_are_checked() -> None:
    with pytest.raises(AnalysisFailedError):
        provider().analyze({"left": jpeg(portrait())})
    with pytest.raises(AnalysisFailedError):
        provider().analyze({"front": jpeg(portrait()), "top": jpeg(portrait())})
