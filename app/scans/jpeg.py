"""Lossless JPEG metadata removal: the stream is walked marker by marker, never re-encoded.

Kept: the frame, tables, scans and restart markers (the image itself), the JFIF APP0 header
and the Adobe APP14 segment (it says how the colour channels are transformed, nothing about
the person). Dropped: every other APPn segment (EXIF with GPS and the camera, XMP, ICC, IPTC,
maker notes, MPF), comments, and whatever follows the end of the first image (phones append
depth maps and previews there). The pixels decode exactly as before.

A photo the camera stored turned (EXIF orientation 2-8, most portrait phone photos) keeps
its turn as a fresh EXIF segment written here holding that one tag and nothing else: the
pixels stay as coded (no re-encode), and viewers and the analyser turn them upright.
"""

import struct

from PIL import Image

SOI = b"\xff\xd8"
EOI = 0xD9
SOS = 0xDA
COM = 0xFE
# Markers with no length field: TEM and the restart markers RST0-RST7.
_STANDALONE = {0x01, *range(0xD0, 0xD8)}
APP0 = 0xE0
EXIF_ORIENTATION_TAG = 0x0112


def exif_orientation(image: Image.Image) -> int | None:
    """An opened image's EXIF orientation: 1 when it has none, None when it is unreadable or
    out of range (1-8)."""
    try:
        value = image.getexif().get(EXIF_ORIENTATION_TAG, 1)
    except Exception:  # noqa: BLE001 - a damaged EXIF block, whatever Pillow raises for it
        return None
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def orientation_segment(orientation: int) -> bytes:
    """An APP1 EXIF segment whose only content is the orientation tag (a big-endian TIFF IFD)."""
    if not 1 <= orientation <= 8:
        raise ValueError(f"EXIF orientation {orientation} is not 1-8")
    # TIFF header, one IFD entry (tag, type SHORT, count 1, value left-aligned), no next IFD.
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHIH2x", EXIF_ORIENTATION_TAG, 3, 1, orientation) + struct.pack(">I", 0)
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def _kept_app_segment(marker: int, payload: bytes) -> bool:
    if marker == 0xE0:
        return payload.startswith(b"JFIF\x00")
    if marker == 0xEE:
        return payload.startswith(b"Adobe")
    return False


def _entropy_end(data: bytes, start: int) -> int:
    """Index of the first marker after entropy-coded data (0xFF00 stuffing and RSTn are data)."""
    position = start
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= len(data):
            raise ValueError("the JPEG stream ends inside its image data")
        following = data[position + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            position += 1 if following == 0xFF else 2
            continue
        return position


def strip_jpeg_metadata(data: bytes, *, orientation: int = 1) -> bytes:
    """The same JPEG without metadata segments, plus an orientation-only EXIF segment when
    `orientation` is not 1; ValueError if the stream is not a whole JPEG."""
    if not data.startswith(SOI):
        raise ValueError("not a JPEG stream")
    out = [SOI]
    # Written after a leading JFIF APP0 (which must come first), before everything else.
    pending_orientation = orientation_segment(orientation) if orientation != 1 else b""
    position = 2
    size = len(data)
    while position < size:
        if data[position] != 0xFF:
            raise ValueError("expected a JPEG marker")
        while position < size and data[position] == 0xFF:  # fill bytes before a marker
            position += 1
        if position >= size:
            break
        marker = data[position]
        position += 1
        if pending_orientation and marker != APP0:
            out.append(pending_orientation)
            pending_orientation = b""
        if marker == EOI:
            out.append(b"\xff\xd9")
            return b"".join(out)
        if marker in _STANDALONE:
            out.append(bytes((0xFF, marker)))
            continue
        if position + 2 > size:
            break
        (length,) = struct.unpack(">H", data[position : position + 2])
        if length < 2 or position + length > size:
            raise ValueError("a JPEG segment runs past the end of the file")
        segment_end = position + length
        is_metadata = (
            0xE0 <= marker <= 0xEF and not _kept_app_segment(marker, data[position + 2 : segment_end])
        ) or (marker == COM)
        if not is_metadata:
            out.append(bytes((0xFF, marker)))
            out.append(data[position:segment_end])
        position = segment_end
        if marker == SOS:
            end = _entropy_end(data, position)
            out.append(data[position:end])
            position = end
    raise ValueError("the JPEG stream has no end marker")
