"""Photo intake: metadata cut out of the JPEG stream losslessly, orientation still applied."""

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.core.errors import UnprocessableError
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


def test_a_rotated_phone_photo_is_stored_upright_without_exif() -> None:
    # Orientation 6: the camera stored the pixels turned; viewers rotate them 90° clockwise.
    rgb = face_rgb()[:, :768]  # not square, so a missed rotation shows in the size
    sideways = np.ascontiguousarray(np.rot90(rgb, k=1))
    clean = clean_image(_with_exif(sideways, orientation=6), limits=LIMITS)
    stored = Image.open(io.BytesIO(clean.jpeg))
    assert len(stored.getexif()) == 0
    assert b"PhoneMaker" not in clean.jpeg
    assert stored.size == (768, 1024) == (clean.width, clean.height)
    difference = np.abs(_pixels(clean.jpeg).astype(int) - rgb.astype(int)).mean()
    assert difference < 4, f"the stored photo is not the upright face (mean difference {difference:.1f})"


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
    png = io.BytesIO()
    Image.fromarray(face_rgb()).save(png, format="PNG")
    for needs_encoding in (rotated, png.getvalue()):
        pending = check_photo(needs_encoding, limits=LIMITS)
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
