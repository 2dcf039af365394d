"""Photo intake: validate by content (never by name), apply EXIF orientation, strip metadata.

Accepted: JPEG, PNG, WebP and HEIC/HEIF (through pillow-heif). Every stored photo is
re-encoded as a fresh JPEG, so no EXIF, GPS or other metadata from the phone survives.
"""

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from app.core.errors import PayloadTooLargeError, UnprocessableError, UnsupportedMediaTypeError

register_heif_opener()

ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/heic"}
ACCEPTED_CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic", "image/heif")
JPEG_QUALITY = 92


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
    max_side: int = 12000


def _error_details(angle: str | None, **extra: object) -> dict[str, object]:
    return {"angle": angle, **extra} if angle else dict(extra)


def clean_image(data: bytes, *, limits: ImageLimits, angle: str | None = None) -> CleanImage:
    """Validate one photo and return it as a metadata-free JPEG, or raise a 4xx domain error."""
    if not data:
        raise UnprocessableError("The image is empty.", code="empty_image", details=_error_details(angle))
    if len(data) > limits.max_bytes:
        raise PayloadTooLargeError(
            f"The image is larger than {limits.max_bytes // (1024 * 1024)} MB.",
            code="image_too_large",
            details=_error_details(angle, max_bytes=limits.max_bytes, size_bytes=len(data)),
        )
    image = _open(data, limits=limits, angle=angle)
    width, height = image.size
    if min(width, height) < limits.min_side:
        raise UnprocessableError(
            f"The image is too small ({width}x{height}); the shorter side needs {limits.min_side} px.",
            code="image_too_small",
            details=_error_details(angle, width=width, height=height, min_side=limits.min_side),
        )
    oriented = ImageOps.exif_transpose(image).convert("RGB")
    buffer = io.BytesIO()
    # A fresh JPEG with no `exif=`/`icc_profile=` carries no metadata at all.
    oriented.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=False)
    return CleanImage(buffer.getvalue(), oriented.width, oriented.height, image.format or "unknown")


def _open(data: bytes, *, limits: ImageLimits, angle: str | None) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
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
            image.load()  # decode fully now: a truncated file fails here, not in the worker
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
    image.format = fmt
    return image
