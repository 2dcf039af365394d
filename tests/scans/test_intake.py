"""Photo intake: metadata cut out of the JPEG stream losslessly, orientation kept and applied."""

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageOps

from app.core.errors import UnprocessableError
from app.providers.vision.frames import decode
from app.scans.intake import ImageLimits, check_photo, clean_image
from app.scans.jpeg import strip_jpeg_metadata
from tests.helpers import upload_scan, wait_for
from tests.images import face_jpeg_with_gps, face_rgb

LIMITS = ImageLimits(max_bytes=20 * 1024 * 1024, max_pixels=50_000_000, min_side=256)
EXIF_ORIENTATION = 0x0112


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _with_exif(rgb: np.ndarray, *, orientation: int, **save: object) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[EXIF_ORIENTATION] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (48.0, 51.0, 29.0)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", exif=exif, quality=95, **save)
    return buffer.getvalue()


def test_an_upright_jpeg_is_stored_with_the_same_pixels_and_no_gps() -> None:
    original = face_jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825), "the test photo must carry GPS"
    clean = clean_image(original, limits=LIMITS)
    stored = Image.open(io.BytesIO(clean.jpeg))
    assert len(stored.getexif()) == 0
    assert b"Exif" not in clean.jpeg
    assert b"PhoneMaker" not in clean.jpeg
    assert (clean.width, clean.height) == (1024, 1024)
    # Not re-encoded: every pixel decodes exactly as the phone's own file does.
    assert np.array_equal(_pixels(clean.jpeg), _pixels(original))


@pytest.mark.parametrize("progressive", [False, True])
def test_progressive_and_restart_marker_jpegs_survive_the_strip(progressive: bool) -> None:
    original = _with_exif(face_rgb(), orientation=1, progressive=progressive, restart_marker_blocks=3)
    stripped = strip_jpeg_metadata(original + b"\xff\xd8trailing preview image")
    assert np.array_equal(_pixels(stripped), _pixels(original))
    assert b"PhoneMaker" not in stripped
    assert b"trailing" not in stripped


def test_a_rotated_phone_photo_keeps_its_pixels_and_only_its_orientation() -> None:
    # Orientation 6: the camera stored the pixels turned; viewers rotate them 90° clockwise.
    rgb = face_rgb()[:, :768]  # not square, so a missed rotation shows in the size
    sideways = np.ascontiguousarray(np.rot90(rgb, k=1))
    original = _with_exif(sideways, orientation=6)
    clean = clean_image(original, limits=LIMITS)
    stored = Image.open(io.BytesIO(clean.jpeg))
    assert dict(stored.getexif()) == {EXIF_ORIENTATION: 6}, "only the orientation may survive"
    assert b"PhoneMaker" not in clean.jpeg
    assert stored.size == (1024, 768), "the coded pixels are kept as the camera stored them"
    assert (clean.width, clean.height) == (768, 1024), "the stated size is the upright one"
    # Lossless: the same coded image data as the phone's file (no re-encode).
    assert clean.jpeg[clean.jpeg.index(b"\xff\xc4") :] == original[original.index(b"\xff\xc4") :]
    upright = np.asarray(ImageOps.exif_transpose(stored).convert("RGB"))
    difference = np.abs(upright.astype(int) - rgb.astype(int)).mean()
    assert difference < 4, f"a viewer does not show the upright face (mean difference {difference:.1f})"


def test_every_exif_orientation_is_shown_upright_by_the_analyser_as_by_viewers() -> None:
    coded = np.ascontiguousarray(face_rgb()[:, :768])
    for orientation in range(1, 9):
        stored = check_photo(_with_exif(coded, orientation=orientation), limits=LIMITS).complete()
        viewed = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(stored.jpeg))).convert("RGB"))
        decoded = decode(data=stored.jpeg, min_side=None)
        assert (decoded.width, decoded.height) == (stored.width, stored.height) == viewed.shape[1::-1]
        difference = np.abs(decoded.image[..., ::-1].astype(int) - viewed.astype(int)).mean()
        assert difference < 1.0, (orientation, difference)


def test_a_truncated_jpeg_is_refused_at_upload() -> None:
    data = face_jpeg_with_gps()
    with pytest.raises(UnprocessableError) as refused:
        clean_image(data[: len(data) // 2], limits=LIMITS)
    assert refused.value.code == "corrupt_image"


def test_an_upright_jpeg_is_known_in_its_stored_form_before_any_decoding_and_others_are_not() -> None:
    upright = face_jpeg_with_gps()
    check = check_photo(upright, limits=LIMITS)
    # The stored form (what an idle worker starts on) is the metadata-free stream, and the
    # decode check that follows returns the very same bytes.
    assert check.stored == strip_jpeg_metadata(upright)
    assert check.complete().jpeg is check.stored
    rotated = _with_exif(np.ascontiguousarray(np.rot90(face_rgb(), k=1)), orientation=6)
    assert check_photo(rotated, limits=LIMITS).stored == strip_jpeg_metadata(rotated, orientation=6)
    png = io.BytesIO()
    Image.fromarray(face_rgb()).save(png, format="PNG")
    pending = check_photo(png.getvalue(), limits=LIMITS)
    assert pending.stored is None
    assert pending.complete().jpeg[:2] == b"\xff\xd8"


def test_a_jpeg_with_intact_markers_but_a_broken_table_passes_the_header_check_and_fails_its_decode() -> None:
    data = bytearray(face_jpeg_with_gps())
    table = data.find(b"\xff\xc4")
    data[table + 5 : table + 20] = b"\xee" * 15
    check = check_photo(bytes(data), limits=LIMITS)
    with pytest.raises(UnprocessableError) as refused:
        check.complete()
    assert refused.value.code == "corrupt_image"


def test_a_one_call_upload_of_a_gps_photo_is_scored_and_stored_clean(client: TestClient, user: dict) -> None:
    scan = upload_scan(client, user["headers"], face_jpeg_with_gps())
    done = wait_for(client, user["headers"], scan["scan_id"])
    assert done["status"] == "completed", done
    stored = client.get(done["image_urls"]["front"])
    assert stored.status_code == 200
    assert len(Image.open(io.BytesIO(stored.content)).getexif()) == 0
    assert b"PhoneMaker" not in stored.content


def test_a_portrait_phone_photo_stored_turned_is_scored_upright(client: TestClient, user: dict) -> None:
    """The pixels stay as the camera coded them; the analysis and its overlay are upright."""
    upright = np.ascontiguousarray(face_rgb()[:, :768])
    sideways = _with_exif(np.ascontiguousarray(np.rot90(upright, k=1)), orientation=6)
    turned = wait_for(client, user["headers"], upload_scan(client, user["headers"], sideways)["scan_id"])
    plain = wait_for(
        client,
        user["headers"],
        upload_scan(client, user["headers"], _with_exif(upright, orientation=1))["scan_id"],
    )
    assert turned["status"] == plain["status"] == "completed", (turned, plain)
    stored = Image.open(io.BytesIO(client.get(turned["image_urls"]["front"]).content))
    assert dict(stored.getexif()) == {EXIF_ORIENTATION: 6}
    overlay = Image.open(io.BytesIO(client.get(turned["overlay_url"], headers=user["headers"]).content))
    assert overlay.width < overlay.height, "the overlay is drawn on the upright photo"
    for metric, score in plain["scores"].items():
        assert abs(turned["scores"][metric] - score) <= 5, (metric, turned["scores"][metric], score)
