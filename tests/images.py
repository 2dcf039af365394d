"""Real photos for tests, from scikit-image's bundled data (no network)."""

import io
from functools import lru_cache

import numpy as np
from PIL import Image
from skimage import data


@lru_cache
def face_rgb() -> np.ndarray:
    """A real face photo (the astronaut portrait) at a phone-like 1024x1024, RGB."""
    return np.asarray(Image.fromarray(data.astronaut()).resize((1024, 1024), Image.Resampling.LANCZOS))


def encode(rgb: np.ndarray, fmt: str = "JPEG", **save_kwargs: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb.astype(np.uint8)).save(buffer, format=fmt, **save_kwargs)
    return buffer.getvalue()


def face_jpeg() -> bytes:
    return encode(face_rgb(), quality=95)


def face_jpeg_with_gps() -> bytes:
    """The face photo carrying camera EXIF and a GPS position, as phones write them."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "Phone 15"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (48.0, 51.0, 29.0)
    return encode(face_rgb(), exif=exif, quality=95)


def darkened_face_jpeg(factor: float = 0.12) -> bytes:
    return encode(face_rgb() * factor)


def blurred_face_jpeg() -> bytes:
    from PIL import ImageFilter

    image = Image.fromarray(face_rgb()).filter(ImageFilter.GaussianBlur(radius=12))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


def no_face_jpeg() -> bytes:
    return encode(data.coffee())


# The astronaut's cheeks in the 1024x1024 portrait (eyes at about (408, 202) and (494, 206)).
CHEEKS_1024 = ((392, 276), (510, 280))


def redder_face_jpeg(amount: float = 40.0) -> bytes:
    """The face with flushed cheeks; amount 40 takes up to ~27% of green and blue off them.

    A colour cast over the whole photo would be a warm light, not redness: the analyser
    measures colour relative to the face's own skin, so the flush is on the cheeks only.
    """
    rgb = face_rgb().astype(np.float32)
    yy, xx = np.mgrid[0 : rgb.shape[0], 0 : rgb.shape[1]]
    alpha = sum(np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 30.0**2)) for x, y in CHEEKS_1024)
    loss = 1.0 - (amount / 150.0) * alpha
    rgb[..., 1] *= loss
    rgb[..., 2] *= loss
    return encode(np.clip(rgb, 0, 255))


def face_heic() -> bytes:
    """The face photo as an iPhone would send it (HEIF container)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    Image.fromarray(face_rgb()).save(buffer, format="HEIF", quality=90)
    return buffer.getvalue()
