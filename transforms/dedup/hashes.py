"""Hashes that dedup compares: normalised captions, 64-bit pHash, optional PDQ.

`phash` is the DCT hash of `imagehash.phash` (32x32 grey thumbnail, 2-D DCT-II,
the 8x8 lowest frequencies against their median, hex MSB first) computed with a
precomputed DCT matrix instead of scipy: the test suite checks it bit for bit
against `imagehash` on real images. `figure_phashes` is what dedup stores: the hash of
the figure with its uniform border trimmed (so a re-bordered copy hashes like the
original); `crop_windows` gives the sub-images the crop rule hashes (see
`transforms.dedup.crops`).
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageOps

Image.MAX_IMAGE_PIXELS = None  # extract already capped the pixels it keeps

HASH_SIZE = 8
THUMB_SIZE = 32
# crop windows hashed for the crop rule: the fraction of each dimension cut away
CROP_FRACTIONS: tuple[float, ...] = (0.05, 0.10)
# PDQ reads a 64x64 reduction; a larger input only costs time
PDQ_MAX_SIDE = 512
# a border pixel counts as background when every channel is within this of the corner's
BORDER_TOLERANCE = 12

_PUNCT_OR_SPACE = re.compile(r"[\W_]+", re.UNICODE)


def _dct_matrix(size: int, keep: int) -> np.ndarray:
    """Rows 0..keep-1 of scipy's unnormalised DCT-II: y_k = 2 sum x_n cos(pi k (2n+1) / 2N)."""
    k = np.arange(keep, dtype=np.float64)[:, None]
    n = np.arange(size, dtype=np.float64)[None, :]
    return 2.0 * np.cos(np.pi * k * (2.0 * n + 1.0) / (2.0 * size))


_DCT_ROWS = _dct_matrix(THUMB_SIZE, HASH_SIZE)
_BIT_WEIGHTS = np.left_shift(np.uint64(1), np.arange(63, -1, -1, dtype=np.uint64))


def normalise_caption(caption: str | None) -> str:
    """Lowercase, NFKC, punctuation dropped, whitespace folded: the text exact dedup compares."""
    if not caption:
        return ""
    text = unicodedata.normalize("NFKC", caption).casefold()
    return " ".join(_PUNCT_OR_SPACE.sub(" ", text).split())


def caption_hash(caption: str | None) -> str | None:
    """sha1 hex of the normalised caption; None when nothing is left of it."""
    text = normalise_caption(caption)
    return hashlib.sha1(text.encode("utf-8")).hexdigest() if text else None


def thumbnail_bits(grey_thumbnail: np.ndarray) -> int:
    """The 64-bit pHash of a 32x32 grey thumbnail (uint8 or float), as an int."""
    pixels = np.asarray(grey_thumbnail, dtype=np.float64)
    low = _DCT_ROWS @ pixels @ _DCT_ROWS.T
    bits = (low > np.median(low)).ravel()
    return int(np.bitwise_or.reduce(_BIT_WEIGHTS[bits], initial=np.uint64(0)))


def phash(image: Image.Image) -> int:
    """64-bit pHash, the same bits as `imagehash.phash(image)`."""
    grey = image.convert("L").resize((THUMB_SIZE, THUMB_SIZE), Image.Resampling.LANCZOS)
    return thumbnail_bits(np.asarray(grey))


def hash_hex(bits: int) -> str:
    return f"{bits:016x}"


def hex_bits(text: str) -> int:
    return int(text, 16)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def open_image(data: bytes) -> Image.Image:
    """Decode image bytes; a bad image raises ValueError naming what failed."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as exc:  # noqa: BLE001 - PIL raises many types for bad bytes
        raise ValueError(f"image does not decode: {type(exc).__name__}: {exc}") from exc
    return image


def trim_border(image: Image.Image, passes: int = 3) -> Image.Image:
    """The figure without uniform margins, trimmed again while a pass removes something.

    Repeating matters: a copy given a white frame loses the frame in one pass and then
    the original's own uniform margin (sky, background) in the next, as the original did.
    """
    rgb = image.convert("RGB")
    for _ in range(passes):
        trimmed = _trim_once(rgb)
        if trimmed.size == rgb.size:
            break
        rgb = trimmed
    return rgb


def _trim_once(rgb: Image.Image) -> Image.Image:
    pixels = np.asarray(rgb, dtype=np.int16)
    corner = pixels[0, 0]
    content = np.abs(pixels - corner).max(axis=2) > BORDER_TOLERANCE
    rows = np.flatnonzero(content.any(axis=1))
    cols = np.flatnonzero(content.any(axis=0))
    if rows.size == 0 or cols.size == 0:
        return rgb  # a blank image: nothing to trim to
    box = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
    if box[2] - box[0] < 8 or box[3] - box[1] < 8:
        return rgb  # a speck on a blank page: trimming would hash the speck
    return rgb.crop(box)


def crop_windows(
    image: Image.Image, fractions: Sequence[float] = CROP_FRACTIONS
) -> list[Image.Image]:
    """Sub-images that lose `fraction` of each dimension, anchored at 9 places."""
    width, height = image.size
    windows = []
    for fraction in fractions:
        dx, dy = round(width * fraction), round(height * fraction)
        for anchor_x in (0.0, 0.5, 1.0):
            for anchor_y in (0.0, 0.5, 1.0):
                left, top = round(dx * anchor_x), round(dy * anchor_y)
                windows.append(image.crop((left, top, left + width - dx, top + height - dy)))
    return windows


def prepared_image(data: bytes) -> Image.Image:
    """The decoded figure, EXIF-rotated, with its uniform border trimmed: what dedup hashes."""
    image = open_image(data)
    if image.format == "JPEG":
        image = ImageOps.exif_transpose(image)
    return trim_border(image)


def pdq_available() -> bool:
    try:
        import pdqhash  # noqa: F401
    except ImportError:
        return False
    return True


def pdq_bits(image: Image.Image) -> int:
    """256-bit PDQ hash as an int, through the optional `pdqhash` package."""
    import pdqhash

    rgb = image.convert("RGB")
    if max(rgb.size) > PDQ_MAX_SIDE:
        rgb = rgb.copy()
        rgb.thumbnail((PDQ_MAX_SIDE, PDQ_MAX_SIDE), Image.Resampling.BOX)
    bits, _quality = pdqhash.compute(np.asarray(rgb))
    return int.from_bytes(np.packbits(np.asarray(bits, dtype=np.uint8).ravel()).tobytes(), "big")


def pdq_hex(bits: int) -> str:
    return f"{bits:064x}"
