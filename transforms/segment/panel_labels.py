"""Panel letters ("A", "b", "(c)") near panel corners: find them and read them.

A label is a small, isolated, glyph-sized component in a corner window of a panel,
dark on light or light on dark. It is read by matching its normalised bitmap against
letters rendered with Pillow's bundled font (regular and emboldened), so nothing is
downloaded. When the caption names the labels, only those letters are candidates.
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from scipy import ndimage

GLYPH = 24  # side of the normalised glyph bitmap
MIN_MATCH = 0.65  # template correlation below which a component is not a letter
# regular sans fonts rendered as templates when the system has them, besides Pillow's own
TEMPLATE_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)


@dataclass(frozen=True)
class LabelHit:
    text: str
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 in the image the search ran on
    score: float


def _normalise(mask: np.ndarray) -> np.ndarray:
    """Crop to the ink, scale into a GLYPH x GLYPH box keeping the aspect ratio, blur a
    little (stroke widths differ between fonts) and normalise to unit length."""
    ys, xs = np.nonzero(mask)
    crop = mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = crop.shape
    scale = (GLYPH - 2) / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    img = Image.fromarray((crop * 255).astype(np.uint8)).resize((nw, nh), Image.BILINEAR)
    out = np.zeros((GLYPH, GLYPH), np.float32)
    top, left = (GLYPH - nh) // 2, (GLYPH - nw) // 2
    out[top : top + nh, left : left + nw] = np.asarray(img, np.float32) / 255.0
    out = ndimage.gaussian_filter(out, 1.0)
    out -= out.mean()
    norm = float(np.linalg.norm(out))
    return out / norm if norm else out


def _fonts() -> list[ImageFont.ImageFont]:
    fonts = [ImageFont.load_default(size=48)]
    fonts += [ImageFont.truetype(path, 48) for path in TEMPLATE_FONTS if os.path.exists(path)]
    return fonts


@lru_cache(maxsize=1)
def _templates() -> tuple[list[str], np.ndarray]:
    names: list[str] = []
    glyphs: list[np.ndarray] = []
    for font in _fonts():
        for letter in string.ascii_letters:
            img = Image.new("L", (96, 96), 0)
            ImageDraw.Draw(img).text((12, 5), letter, fill=255, font=font)
            for weight in (1, 5, 9):  # regular, bold, heavy
                bold = img.filter(ImageFilter.MaxFilter(weight)) if weight > 1 else img
                names.append(letter)
                glyphs.append(_normalise(np.asarray(bold) > 127))
    return names, np.stack(glyphs).reshape(len(glyphs), -1)


def read_glyph(mask: np.ndarray, allowed: set[str] | None = None) -> tuple[str, float]:
    """The best-matching letter of a binary glyph and its correlation (0..1)."""
    names, bank = _templates()
    scores = bank @ _normalise(mask).reshape(-1)
    best, best_score = "", -1.0
    for name, score in zip(names, scores, strict=True):
        if allowed is not None and name not in allowed:
            continue
        if score > best_score:
            best, best_score = name, float(score)
    return best, best_score


def _components(window: np.ndarray, dark: bool, bias: float = 0.5) -> tuple[np.ndarray, int]:
    """Connected components of the ink; `bias` > 0.5 keeps faint (thin, scaled-down)
    strokes of dark ink on a light page."""
    lo, hi = int(window.min()), int(window.max())
    thresh = lo + bias * (hi - lo) if dark else hi - bias * (hi - lo)
    mask = window < thresh if dark else window > thresh
    return ndimage.label(mask)


# letters that stroke fragments also match; used only when the caption names them
THIN = set("iIjlJ1")
DEFAULT_ALLOWED = set(string.ascii_letters[:8] + string.ascii_letters[26:34])


def find_label(
    gray: np.ndarray,
    box: tuple[int, int, int, int],
    glyph_px: tuple[int, int],
    allowed: set[str] | None = None,
) -> LabelHit | None:
    """The letter-like component nearest the top-left (else bottom-left) corner of `box`."""
    allowed = allowed or DEFAULT_ALLOWED
    x0, y0, x1, y1 = box
    lo, hi = glyph_px
    win_w = min(x1 - x0, max(4 * hi, (x1 - x0) // 5))
    win_h = min(y1 - y0, max(4 * hi, (y1 - y0) // 5))
    best: tuple[float, LabelHit] | None = None
    for corner, (cx, cy) in enumerate(((x0, y0), (x0, y1 - win_h))):
        window = gray[cy : cy + win_h, cx : cx + win_w]
        if window.size == 0 or int(window.max()) - int(window.min()) < 60:
            continue
        for dark in (True, False):
            for hit in _hits(window, dark, lo, hi, allowed):
                bx0, by0, bx1, by1 = hit.bbox
                # distance from the corner in glyph heights; bottom corners count less
                dy = by0 if corner == 0 else win_h - by1
                near = (bx0 + dy) / max(1, by1 - by0)
                if near > 3:
                    continue  # a panel letter sits at the corner, not inside the panel
                rank = near + 3 * corner - 2 * hit.score
                placed = LabelHit(hit.text, (bx0 + cx, by0 + cy, bx1 + cx, by1 + cy), hit.score)
                if best is None or rank < best[0]:
                    best = (rank, placed)
    return best[1] if best else None


def _hits(
    window: np.ndarray,
    dark: bool,
    lo: int,
    hi: int,
    allowed: set[str],
    limit: int = 400,
    bias: float = 0.5,
) -> list[LabelHit]:
    labels, count = _components(window, dark, bias)
    if count == 0 or count > limit:
        return []
    objects = ndimage.find_objects(labels)
    hits = []
    for index, sl in enumerate(objects, start=1):
        if sl is None:
            continue
        h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
        if not (lo <= h <= hi) or not (0.45 * h <= w <= 1.4 * h):
            continue
        if not _isolated(labels, objects, index, sl, h):
            continue
        glyph = labels[sl] == index
        if not 0.15 <= float(glyph.mean()) <= 0.8:
            continue
        text, score = read_glyph(glyph, allowed)
        if score >= MIN_MATCH + (0.2 if text in THIN else 0.0):
            hits.append(LabelHit(text, (sl[1].start, sl[0].start, sl[1].stop, sl[0].stop), score))
    return hits


def find_labels(
    gray: np.ndarray, glyph_px: tuple[int, int], dark: bool, allowed: set[str] | None = None
) -> list[LabelHit]:
    """Every isolated letter of the figure in the page's polarity (dark on a light page):
    the letters that sit in the margins and gutters, outside any picture."""
    return _hits(gray, dark, glyph_px[0], glyph_px[1], allowed or DEFAULT_ALLOWED, 20000, 0.65)


def _isolated(
    labels: np.ndarray, objects: list, index: int, sl: tuple[slice, slice], h: int
) -> bool:
    """Nothing near it but parentheses: a letter inside a word has letters for neighbours."""
    pad = max(2, h // 3)
    ry0, rx0 = max(0, sl[0].start - pad), max(0, sl[1].start - pad)
    ring = labels[ry0 : sl[0].stop + pad, rx0 : sl[1].stop + pad]
    for other in np.unique(ring):
        if other in (0, index):
            continue
        o = objects[other - 1]
        oh, ow = o[0].stop - o[0].start, o[1].stop - o[1].start
        if oh > 1.5 * h or ow > 0.45 * oh:
            return False
    return True
