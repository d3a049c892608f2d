"""Figure images for the demo corpus: photo panels from scikit-image's bundled
biomedical images, drawn charts, compound layouts with gaps and panel letters.

The photos are the files scikit-image ships in `skimage/data` (no download):
immunohistochemistry (ihc.png), retina (retina.jpg), cell (cell.png),
microaneurysms (microaneurysms.png) and the Shepp–Logan phantom (phantom.png).
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from functools import cache

import numpy as np
import skimage.data
from PIL import Image, ImageDraw, ImageEnhance

from demo.charts import CHARTS, font

PHOTO_LOADERS = {
    "ihc": skimage.data.immunohistochemistry,
    "retina": skimage.data.retina,
    "cell": skimage.data.cell,
    "microaneurysms": skimage.data.microaneurysms,
    "phantom": skimage.data.shepp_logan_phantom,
}
PHOTO_KINDS = frozenset(PHOTO_LOADERS)
CHART_KINDS = frozenset(CHARTS)
# photos with a dark background get white panel letters and a white gap colour
DARK_KINDS = frozenset({"retina", "phantom"})
MAX_PANEL_HEIGHT = 260
# the part of a source image a crop must keep (x0, y0, x1, y1): the one cell in cell.png
SUBJECT = {"cell": (334, 287, 526, 467)}


@cache
def source_image(kind: str) -> Image.Image:
    arr = PHOTO_LOADERS[kind]()
    if arr.dtype != np.uint8:  # the phantom is float in [0, 1]
        arr = (np.clip(arr, 0.0, 1.0) * 255).round().astype(np.uint8)
    return Image.fromarray(arr).convert("RGB")


def photo_panel(kind: str, rng: random.Random, w: int, h: int) -> Image.Image:
    """A random crop of a bundled image, resized to w x h, with small variations."""
    src = source_image(kind)
    sw, sh = src.size
    if kind in ("retina", "phantom"):
        frac = rng.uniform(0.75, 1.0)  # keep the whole disc mostly in view
    elif kind in SUBJECT:
        frac = rng.uniform(0.6, 0.95)
    else:
        frac = rng.uniform(0.4, 0.85)
    cw = min(sw, int(sw * frac))
    ch = min(sh, int(cw * h / w))
    x0, y0, x1, y1 = SUBJECT.get(kind, (sw, sh, 0, 0))  # default: no constraint
    x = _position(rng, x0, x1, cw, sw)
    y = _position(rng, y0, y1, ch, sh)
    img = src.crop((x, y, x + cw, y + ch)).resize((w, h), Image.Resampling.BICUBIC)
    if rng.random() < 0.5 and kind != "phantom":
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.9, 1.1))
    if kind in ("ihc", "cell", "microaneurysms"):
        _scale_bar(img)
    return img


def _position(rng: random.Random, lo: int, hi: int, size: int, total: int) -> int:
    """Start of a crop of `size` within `total` that keeps [lo, hi) in view if it can."""
    first = max(0, min(hi - size, total - size))
    last = max(0, min(lo, total - size))
    return rng.randint(min(first, last), last)


def _scale_bar(img: Image.Image) -> None:
    w, h = img.size
    draw = ImageDraw.Draw(img)
    bar = max(12, w // 5)
    draw.rectangle([w - bar - 8, h - 12, w - 8, h - 8], fill="white", outline="black")


def panel_image(kind: str, rng: random.Random, w: int, h: int) -> Image.Image:
    if kind in PHOTO_KINDS:
        return photo_panel(kind, rng, w, h)
    return CHARTS[kind](rng, w, h)


@dataclass(frozen=True)
class PlacedPanel:
    kind: str
    label: str | None
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 in the figure's pixels (x1, y1 exclusive)


def row_layout(
    rows: list[int], width: int, aspect: float, max_height: int, gap: int
) -> list[tuple[int, int, int, int]]:
    """Boxes of a grid given panels per row: equal widths within a row, `gap` between;
    a row is `aspect` times its panels' width high, at most `max_height`."""
    boxes = []
    y = gap
    for n in rows:
        pw = (width - gap * (n + 1)) // n
        ph = min(int(pw * aspect), max_height)
        for i in range(n):
            x = gap + i * (pw + gap)
            boxes.append((x, y, x + pw, y + ph))
        y += ph + gap
    return boxes


def compose(
    kinds: list[str],
    labels: list[str | None],
    rows: list[int],
    width: int,
    aspect: float,
    gap: int,
    rng: random.Random,
) -> tuple[Image.Image, list[PlacedPanel]]:
    """One figure image: panels in rows, white (or black) gaps, letters in the corners."""
    boxes = row_layout(rows, width, aspect, MAX_PANEL_HEIGHT, gap)
    height = boxes[-1][3] + gap
    dark = all(k in DARK_KINDS for k in kinds)
    canvas = Image.new("RGB", (width, height), "black" if dark else "white")
    draw = ImageDraw.Draw(canvas)
    letter_font = font(max(14, min(b[3] - b[1] for b in boxes) // 9))
    placed = []
    for kind, label, box in zip(kinds, labels, boxes, strict=True):
        x0, y0, x1, y1 = box
        canvas.paste(panel_image(kind, rng, x1 - x0, y1 - y0), (x0, y0))
        if label:
            on_photo = kind in PHOTO_KINDS
            draw.text(
                (x0 + 5, y0 + 3),
                label,
                font=letter_font,
                fill="white" if on_photo else "black",
                stroke_width=2 if on_photo else 0,
                stroke_fill="black",
            )
        placed.append(PlacedPanel(kind, label, box))
    return canvas, placed


def encode(img: Image.Image, fmt: str) -> bytes:
    """Encode as the corpus stores it: JPEG, PNG or TIFF."""
    buf = io.BytesIO()
    if fmt == "jpeg":
        img.save(buf, format="JPEG", quality=85)
    elif fmt == "png":
        img.save(buf, format="PNG", optimize=True)
    elif fmt == "tiff":
        # uncompressed: libtiff leaves an uninitialised padding byte in compressed files
        img.save(buf, format="TIFF")
    else:
        raise ValueError(f"unknown image format {fmt!r}")
    return buf.getvalue()


def thumbnail(img: Image.Image, width: int = 120) -> Image.Image:
    height = max(1, round(img.height * width / img.width))
    return img.resize((width, height), Image.Resampling.LANCZOS)
