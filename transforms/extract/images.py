"""Decode figure images with Pillow and normalise them to JPEG or PNG, safely.

JPEG and PNG bytes are kept as they are (no second lossy pass); TIFF, GIF, BMP and
the rest become JPEG, or PNG when they carry alpha or a palette. The pixel limit
is checked from the header before any pixel is decoded.

Every image is decoded in full, and a PNG's chunks are read through IEND with their
checksums: Pillow decodes a PNG that lost its last chunks without a word, and such a
file is kept as it is, so a truncated image is rejected here (`image_truncated`).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image

DEFAULT_MAX_PIXELS = 64_000_000  # about 8000 x 8000
JPEG_QUALITY = 92
KEEP_AS_IS = {"JPEG": "jpeg", "PNG": "png"}
# our own limit, checked from the header before decoding, replaces Pillow's global one
Image.MAX_IMAGE_PIXELS = None


class ImageRejected(Exception):
    """An image that is dropped, with a countable reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class NormalisedImage:
    data: bytes
    format: str  # "jpeg" or "png"
    width: int
    height: int
    sha256: str


def _to_8bit(img: Image.Image) -> Image.Image:
    """16- and 32-bit greyscale (microscopy TIFFs) scaled to 8-bit, not clipped."""
    arr = np.asarray(img, dtype=np.float64)
    lo, hi = float(arr.min()), float(arr.max())
    scaled = np.zeros_like(arr) if hi <= lo else (arr - lo) * (255.0 / (hi - lo))
    return Image.fromarray(scaled.astype(np.uint8), mode="L")


def _encode(img: Image.Image) -> tuple[bytes, str]:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        img = _to_8bit(img)
    has_alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
    buf = io.BytesIO()
    if img.mode == "P" or has_alpha:
        if img.mode not in ("RGBA", "LA", "P", "L", "RGB"):
            img = img.convert("RGBA")
        img.save(buf, format="PNG", optimize=False)
        return buf.getvalue(), "png"
    if img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    img.save(buf, format="JPEG", quality=JPEG_QUALITY)
    return buf.getvalue(), "jpeg"


def normalise_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> NormalisedImage:
    """Decode, check and normalise one image; raise ImageRejected with a reason."""
    if not data:
        raise ImageRejected("image_empty", "zero-byte image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            width, height = img.size
            if width * height > max_pixels:
                raise ImageRejected(
                    "image_too_large", f"{width}x{height} exceeds the {max_pixels}-pixel limit"
                )
            img.load()
            if img.format == "PNG":
                Image.open(io.BytesIO(data)).verify()  # every chunk, through IEND
            if img.format in KEEP_AS_IS and img.mode in ("RGB", "L", "RGBA", "LA", "P"):
                out, fmt = data, KEEP_AS_IS[img.format]
            else:
                out, fmt = _encode(img)
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("image_too_large", str(exc)) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        reason = "image_truncated" if _is_truncation(exc) else "image_unreadable"
        raise ImageRejected(reason, f"{type(exc).__name__}: {exc}") from None
    return NormalisedImage(out, fmt, width, height, hashlib.sha256(out).hexdigest())


def _is_truncation(exc: Exception) -> bool:
    """Pillow's words for data that ends early ("image file is truncated", "truncated PNG
    file", "Truncated File Read") or a reader that hit the end of the bytes."""
    return isinstance(exc, EOFError) or "truncated" in str(exc).lower()


def image_fields(image: NormalisedImage, stem: str, image_uri: str) -> dict[str, object]:
    """The image columns of a record, for an image normalised from `image_uri`."""
    return {
        "image": {"bytes": image.data, "path": f"{stem}.{image.format}"},
        "image_format": image.format,
        "width": image.width,
        "height": image.height,
        "image_sha256": image.sha256,
        "image_status": "ok",
        "image_uri": image_uri,
    }
