"""The exported image: at most `max_side` pixels on its longer side, in the output format.

Full-resolution figures cost several times the storage CLIP training needs, so export
shrinks them (Lanczos, aspect kept) and re-encodes only when it must: an image already
small enough and in the wanted format keeps its bytes untouched. A panel's image is
already its crop from the parent figure (segment made it).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageStat

from transforms.ledger import StageError

IMAGE_FORMATS = ("keep", "jpeg", "png")
DEFAULT_MAX_SIDE = 1024
DEFAULT_JPEG_QUALITY = 90
# grey-level standard deviation (0-255) under which an image is blank or one colour
DEFAULT_BLANK_STDDEV = 2.0
_EXTENSIONS = {"jpeg": "jpg", "png": "png"}


@dataclass(frozen=True)
class ImageOptions:
    max_side: int = DEFAULT_MAX_SIDE
    image_format: str = "keep"  # "keep": JPEG stays JPEG, anything else becomes PNG
    jpeg_quality: int = DEFAULT_JPEG_QUALITY
    blank_stddev: float = DEFAULT_BLANK_STDDEV
    max_pixels: int = 64_000_000  # extract's bound: no exported image is larger

    def __post_init__(self) -> None:
        if self.image_format not in IMAGE_FORMATS:
            raise ValueError(f"image format {self.image_format!r} is not one of {IMAGE_FORMATS}")
        if self.max_side < 0:
            raise ValueError("max side must not be negative (0 keeps the full size)")
        if not 1 <= self.jpeg_quality <= 95:
            raise ValueError(f"JPEG quality {self.jpeg_quality} is not in 1..95")


@dataclass(frozen=True)
class ExportImage:
    data: bytes
    image_format: str  # "jpeg" or "png"
    width: int
    height: int

    @property
    def extension(self) -> str:
        return _EXTENSIONS[self.image_format]


def output_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The size after shrinking so the longer side is at most `max_side` (0: unchanged)."""
    longest = max(width, height)
    if max_side <= 0 or longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def target_format(source_format: str | None, options: ImageOptions) -> str:
    if options.image_format != "keep":
        return options.image_format
    return "jpeg" if (source_format or "").lower() in ("jpeg", "jpg") else "png"


BLANK_CHECK_SIDE = 128


def is_blank(img: Image.Image, max_stddev: float) -> bool:
    """Near-blank or one colour: the grey levels of a small copy barely vary."""
    small = img.copy()
    small.thumbnail((BLANK_CHECK_SIDE, BLANK_CHECK_SIDE))
    return ImageStat.Stat(small.convert("L")).stddev[0] <= max_stddev


def _encode(img: Image.Image, image_format: str, quality: int) -> bytes:
    out = io.BytesIO()
    if image_format == "jpeg":
        if img.mode in ("RGBA", "LA", "P"):
            rgba = img.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            img = flat
        elif img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        # no EXIF, no timestamps: the same pixels give the same bytes
        img.save(out, format="JPEG", quality=quality, optimize=True)
    else:
        if img.mode not in ("RGB", "RGBA", "L", "LA", "P", "1", "I;16"):
            img = img.convert("RGB")
        img.save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()


def _open(data: bytes, max_pixels: int) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise StageError("image_undecodable", f"{type(exc).__name__}: {exc}") from exc
    # checked from the header before decoding; extract upstream bounds it the same way
    if img.width * img.height > max_pixels:
        raise StageError("image_too_large", f"{img.width}x{img.height} pixels")
    return img


def _decode(img: Image.Image, at_least: tuple[int, int]) -> Image.Image:
    """Decode; a JPEG at the smallest DCT scale (1/2, 1/4, 1/8) still `at_least` that big,
    several times faster than a full decode for the figures export shrinks."""
    try:
        if img.format == "JPEG":
            img.draft(img.mode, at_least)
        img.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise StageError("image_undecodable", f"{type(exc).__name__}: {exc}") from exc
    return img


def export_image(
    data: bytes, source_format: str | None, options: ImageOptions
) -> tuple[ExportImage | None, str]:
    """The exported image, or None with a drop reason ("blank_image") when it is blank.

    Undecodable bytes raise StageError("image_undecodable")."""
    img = _open(data, options.max_pixels)
    fmt = target_format(source_format, options)
    width, height = img.size
    size = output_size(width, height, options.max_side)
    if size == (width, height) and (img.format or "").lower() == fmt:
        # kept byte for byte: only the blank test decodes it, at the smallest scale it can
        small = _decode(img, (BLANK_CHECK_SIDE, BLANK_CHECK_SIDE))
        if is_blank(small, options.blank_stddev):
            return None, "blank_image"
        return ExportImage(data, fmt, width, height), ""
    img = _decode(img, size)
    if img.size != size:
        if img.mode not in ("RGB", "RGBA", "L", "LA"):
            img = img.convert("RGBA" if "A" in img.getbands() or img.mode == "P" else "RGB")
        img = img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if is_blank(img, options.blank_stddev):
        return None, "blank_image"
    return ExportImage(_encode(img, fmt, options.jpeg_quality), fmt, size[0], size[1]), ""
