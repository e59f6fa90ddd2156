"""Validation and decoding of user-supplied reference images."""

import io

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGE_PIXELS = 36_000_000
"""Largest decoded size accepted; stops small files that expand to gigabytes of pixels."""
_MEGAPIXELS = MAX_IMAGE_PIXELS // 1_000_000

# Pillow names camera JPEGs with embedded previews "MPO"; they are still JPEG files.
_ACCEPTED_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP"}


class UnsupportedImage(ValueError):
    """The bytes are not an image this gateway accepts; the message is safe to show users."""


def load_image(data: bytes) -> Image.Image:
    """Decode JPEG, PNG or WebP bytes into a fully loaded RGB image.

    The format is detected from the content, never from a file name. EXIF orientation is
    applied and transparent areas are composited over black.
    """
    if len(data) > MAX_IMAGE_BYTES:
        raise UnsupportedImage(
            f"image is {len(data) / 1024 / 1024:.1f} MB; "
            f"the limit is {MAX_IMAGE_BYTES // 1024 // 1024} MB"
        )
    try:
        img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise UnsupportedImage(
            "image data is not a recognised image; only JPEG, PNG and WebP are accepted"
        ) from exc
    except Image.DecompressionBombError as exc:
        raise UnsupportedImage(
            f"image dimensions are too large; the limit is {_MEGAPIXELS} megapixels"
        ) from exc
    if img.format not in _ACCEPTED_FORMATS:
        raise UnsupportedImage(f"image is {img.format}; only JPEG, PNG and WebP are accepted")
    width, height = img.size
    if width * height > MAX_IMAGE_PIXELS:
        raise UnsupportedImage(
            f"image is {width}x{height} px; the limit is {_MEGAPIXELS} megapixels"
        )
    try:
        img.load()
        return _to_rgb(ImageOps.exif_transpose(img))
    # Decoders for untrusted data fail in many ways (OSError, SyntaxError, struct.error...).
    except Exception as exc:
        name = _ACCEPTED_FORMATS[img.format]
        raise UnsupportedImage(f"image data is not a decodable {name} file ({exc})") from exc


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode.startswith("I"):
        # 16-bit greyscale PNG: Pillow's RGB conversion clips instead of scaling.
        img = Image.fromarray((np.asarray(img).astype(np.uint32) >> 8).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
    return img.convert("RGB")
