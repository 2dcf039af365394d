"""Photo intake: validate by content (never by name), apply EXIF orientation, strip metadata.

Accepted: JPEG, PNG, WebP and HEIC/HEIF (through pillow-heif). No EXIF, GPS or other
metadata from the phone survives in a stored photo. An RGB JPEG that needs no shrinking
(most phone photos) is stored as its own image data with the metadata segments cut out
(`app.scans.jpeg`): no re-encode, no quality lost, and it is checked by decoding at 1/8
scale, which still reads every coded block. When the camera stored it turned (EXIF
orientation 2-8), the only metadata kept is that orientation, in a segment of our own: the
analyser and every viewer turn the pixels upright. Anything else (other formats, CMYK or
grey, oversized) is decoded, turned upright and re-encoded.

Memory: a decoded photo costs width x height x 3 bytes, whatever the file size (a 117 KB
6000x6000 PNG is 108 MB decoded). So the pixel cap matches what phone cameras produce,
JPEGs are decoded at reduced size (DCT scaling) straight to the stored size, everything
else is shrunk right after decoding, and only a few decodes run at once (`DecodeGate`).
"""

import contextlib
import io
import math
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from app.core.errors import (
    DependencyUnavailableError,
    PayloadTooLargeError,
    UnprocessableError,
    UnsupportedMediaTypeError,
)
from app.scans.jpeg import exif_orientation, strip_jpeg_metadata

register_heif_opener()

ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/heic"}
ACCEPTED_CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic", "image/heif")
JPEG_QUALITY = 92
# Larger photos are shrunk by a whole factor until their longer side fits (a 12 MP phone
# photo, 4032x3024, is kept as is; a 48-50 MP one, 8064x6048, is halved): the analysis needs
# no more, JPEGs are then decoded straight at that size (the DCT scales by 1/2, 1/4, 1/8),
# and a whole-factor reduce() needs no full-size intermediate, unlike a resampling resize.
STORED_MAX_SIDE = 4096
JPEG_DRAFT_SCALES = (1, 2, 4, 8)
# Orientations that swap width and height (a quarter turn, with or without a mirror).
TURNED = frozenset({5, 6, 7, 8})


class DecodeGate:
    """At most `slots` photo decodes at once in this process; a caller waits `timeout` s, then 503."""

    def __init__(self, slots: int, timeout: float = 30.0) -> None:
        self._semaphore = threading.BoundedSemaphore(slots)
        self._timeout = timeout

    def __enter__(self) -> "DecodeGate":
        if not self._semaphore.acquire(timeout=self._timeout):
            raise DependencyUnavailableError(
                "Too many photos are being checked right now; try again shortly.",
                code="server_busy",
                headers={"Retry-After": "5"},
            )
        return self

    def __exit__(self, *exc: object) -> None:
        self._semaphore.release()


@dataclass(frozen=True)
class CleanImage:
    jpeg: bytes
    width: int
    height: int
    source_format: str


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int
    min_side: int
    max_side: int = 10000
    gate: DecodeGate | None = field(default=None, compare=False)


def _error_details(angle: str | None, **extra: object) -> dict[str, object]:
    return {"angle": angle, **extra} if angle else dict(extra)


def clean_image(data: bytes, *, limits: ImageLimits, angle: str | None = None) -> CleanImage:
    """Validate one photo and return it as a metadata-free JPEG, or raise a 4xx domain error."""
    return check_photo(data, limits=limits, angle=angle).complete()


def check_photo(data: bytes, *, limits: ImageLimits, angle: str | None = None) -> "PhotoCheck":
    """The checks that read only the header (size, type, pixel count) and, for a JPEG kept as
    is, the metadata cut; the decode is left to `PhotoCheck.complete`. Raises a 4xx."""
    if not data:
        raise UnprocessableError("The image is empty.", code="empty_image", details=_error_details(angle))
    if len(data) > limits.max_bytes:
        raise PayloadTooLargeError(
            f"The image is larger than {limits.max_bytes // (1024 * 1024)} MB.",
            code="image_too_large",
            details=_error_details(angle, max_bytes=limits.max_bytes, size_bytes=len(data)),
        )
    with _image_errors(angle):
        image = _inspect(data, limits=limits, angle=angle)
        orientation = _orientation_if_storable_as_is(image)
        stripped = None if orientation is None else _strip(data, angle, orientation=orientation)
    return PhotoCheck(image=image, stored=stripped, turned=orientation in TURNED, limits=limits, angle=angle)


class PhotoCheck:
    """A photo past its header checks. `stored` is already its stored form when that is the
    JPEG's own bytes minus metadata (known before any decoding, so an idle worker can start
    on it); `complete()` decodes it (the validity check), or re-encodes anything else."""

    def __init__(
        self,
        *,
        image: Image.Image,
        stored: bytes | None,
        turned: bool,
        limits: ImageLimits,
        angle: str | None,
    ) -> None:
        self._image = image
        # The coded size and format, read before any decode (a draft decode changes the size).
        self._size, self._format = image.size, image.format or "unknown"
        self.stored = stored
        self._turned = turned
        self._limits = limits
        self._angle = angle

    def complete(self, *, decoded: bool = False) -> CleanImage:
        """The checked, metadata-free photo, or a 4xx (a damaged file, too many pixels).

        `decoded`: a photo kept as is was already decoded without error by a strict decoder
        (a one-call upload's analysis, app/providers/vision/frames.py), which is the check:
        it is not decoded again."""
        if self.stored is not None and decoded:
            return self._kept()
        if self._limits.gate is None:
            return self._complete()
        with self._limits.gate:
            return self._complete()

    def _kept(self) -> CleanImage:
        """A photo kept as is, once its decode passed: its stored bytes, at its upright size."""
        assert self.stored is not None
        width, height = self._size
        # The size as it is seen: a quarter turn swaps the coded width and height.
        upright = (height, width) if self._turned else (width, height)
        return CleanImage(self.stored, *upright, self._format)

    def _complete(self) -> CleanImage:
        image, fmt = self._image, self._format
        with _image_errors(self._angle):
            _decode(image, kept=self.stored is not None)
            if self.stored is not None:
                return self._kept()
            factor = math.ceil(max(image.size) / STORED_MAX_SIDE)
            if factor > 1:  # other formats are shrunk at once, so the full-size copy is freed
                image = _shrink(image, factor)
        oriented = ImageOps.exif_transpose(image, in_place=True) or image
        if oriented.mode != "RGB":
            oriented = oriented.convert("RGB")
        buffer = io.BytesIO()
        # A fresh JPEG with no `exif=`/`icc_profile=` carries no metadata at all.
        oriented.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=False)
        return CleanImage(buffer.getvalue(), oriented.width, oriented.height, fmt)


def _strip(data: bytes, angle: str | None, *, orientation: int) -> bytes:
    try:
        return strip_jpeg_metadata(data, orientation=orientation)
    except ValueError as exc:  # truncated or malformed: refused before anything is decoded
        raise UnprocessableError(
            "The image file is damaged or truncated.", code="corrupt_image", details=_error_details(angle)
        ) from exc


def _shrink(image: Image.Image, factor: int) -> Image.Image:
    """The image shrunk by a whole factor, without a full-size intermediate copy."""
    if image.mode in {"L", "LA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr"}:
        return image.reduce(factor)
    # reduce() refuses palette, bilevel and 16-bit modes; nearest-neighbour sampling also
    # writes only the small copy (and these are screenshots or scans, not camera photos).
    width, height = image.size
    return image.resize((max(1, width // factor), max(1, height // factor)), Image.Resampling.NEAREST)


def _orientation_if_storable_as_is(image: Image.Image) -> int | None:
    """For an RGB JPEG small enough to keep (its own bytes minus metadata are the stored photo),
    its EXIF orientation (1-8); None when it has to be re-encoded."""
    if image.format != "JPEG" or image.mode != "RGB" or max(image.size) > STORED_MAX_SIDE:
        return None
    # Unreadable or out of range (None): the re-encoding path, whose exif_transpose ignores it.
    return exif_orientation(image)


def _inspect(data: bytes, *, limits: ImageLimits, angle: str | None) -> Image.Image:
    """The photo opened (header only) and checked for type and size, or a 4xx."""
    image: ImageFile.ImageFile = Image.open(io.BytesIO(data))
    # Decoded in one call to the decoder: by default Pillow feeds it 64 KB at a time and takes
    # the interpreter lock back between blocks, waiting up to the switch interval (5 ms) each
    # time another thread holds it (the worker's context reads, the analysis): a 2.5 MB photo's
    # 40 blocks made its check 1.5x slower beside one busy thread. Same decoder, same verdict.
    image.decodermaxblock = len(data)
    fmt = image.format
    if fmt not in ACCEPTED_FORMATS:
        raise UnsupportedMediaTypeError(
            "Send a JPEG, PNG, WebP or HEIC photo.",
            code="unsupported_image_type",
            details=_error_details(angle, detected=fmt),
        )
    width, height = image.size
    if width * height > limits.max_pixels or max(width, height) > limits.max_side:
        raise UnprocessableError(
            f"The image has too many pixels ({width}x{height}).",
            code="image_dimensions_too_large",
            details=_error_details(angle, width=width, height=height, max_pixels=limits.max_pixels),
        )
    if min(width, height) < limits.min_side:
        raise UnprocessableError(
            f"The image is too small ({width}x{height}); the shorter side needs {limits.min_side} px.",
            code="image_too_small",
            details=_error_details(angle, width=width, height=height, min_side=limits.min_side),
        )
    return image


def _decode(image: Image.Image, *, kept: bool) -> None:
    """Decode the photo now (a truncated or damaged file fails here, not in the worker): a photo
    kept as is at 1/8 scale, only as a check; a big JPEG straight at its stored size."""
    fmt = image.format
    width, height = image.size
    longer = max(width, height)
    if kept:
        # Only a validity check: the smallest DCT scale still entropy-decodes every block.
        image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
    elif fmt == "JPEG" and longer > STORED_MAX_SIDE:
        scale = next((s for s in JPEG_DRAFT_SCALES if longer / s <= STORED_MAX_SIDE), 8)
        image.draft(None, (width // scale, height // scale))
    image.load()
    image.format = fmt


@contextlib.contextmanager
def _image_errors(angle: str | None) -> Iterator[None]:
    """PIL's errors (and its decompression-bomb warning) as the 4xx the client sees."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise UnprocessableError(
                "The image has too many pixels.",
                code="image_dimensions_too_large",
                details=_error_details(angle),
            ) from exc
        except UnidentifiedImageError as exc:
            raise UnsupportedMediaTypeError(
                "This file is not an image we can read; send a JPEG, PNG, WebP or HEIC photo.",
                code="unsupported_image_type",
                details=_error_details(angle),
            ) from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise UnprocessableError(
                "The image file is damaged or truncated.", code="corrupt_image", details=_error_details(angle)
            ) from exc
