"""Synthetic compound figures with exact panel boxes, for tests and the segment benchmark.

Real single panels (scikit-image's bundled biomedical images, crops of real figures the
caller passes in, and drawn charts) are tiled into grids, strips and irregular layouts.
Each figure varies the gap (none to wide), panel borders, label style and position, and
JPEG re-compression. Everything is drawn from a seeded generator: same seed, same set.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from schemas import FIGURE_SCHEMA, new_record

Box = tuple[int, int, int, int]
GAPS = (0, 2, 6, 12, 24, 40)
LABEL_STYLES = ("A", "a", "(a)", "A.", "")
LABEL_PLACES = ("outside", "inside", "inside-bottom")
QUALITIES = (None, 92, 75, 50)
BOLD_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
)


@dataclass(frozen=True)
class SynthFigure:
    image: Image.Image
    boxes: list[Box]  # panel boxes (image plus its letter when the letter is outside)
    labels: list[str | None]
    layout: str  # "grid", "strip", "irregular" or "single"
    gap: int
    border: int
    label_style: str
    label_place: str
    quality: int | None
    caption: str  # panel markers when the panels carry letters, none otherwise


def bundled_panels() -> list[Image.Image]:
    """Biomedical images that ship with scikit-image (no download)."""
    from skimage import data

    out = [
        Image.fromarray(data.immunohistochemistry()),
        Image.fromarray(data.retina()).resize((480, 480)),
        Image.fromarray(data.cell()),
        Image.fromarray(data.microaneurysms()).resize((300, 300)),
    ]
    ihc = np.asarray(out[0])
    out += [Image.fromarray(ihc[:256, :256]), Image.fromarray(ihc[256:, 128:448])]
    return out


def label_font(size: int) -> ImageFont.ImageFont:
    for path in BOLD_FONTS:
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _chart(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    """A line or bar chart with axes and tick labels, on white."""
    img = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(9, h // 18))
    left, bottom = w // 6, h - h // 7
    d.line([(left, h // 12), (left, bottom), (w - w // 20, bottom)], fill=(0, 0, 0), width=2)
    for k in range(5):
        y = bottom - k * (bottom - h // 12) // 5
        d.line([(left - 4, y), (left, y)], fill=(0, 0, 0))
        d.text((4, y - 6), f"{k * 20}", fill=(0, 0, 0), font=font)
    n = int(rng.integers(4, 9))
    xs = np.linspace(left + 10, w - w // 10, n)
    ys = bottom - rng.uniform(0.1, 0.9, n) * (bottom - h // 12)
    colour = tuple(int(c) for c in rng.integers(0, 200, 3))
    if rng.random() < 0.5:
        d.line(list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=colour, width=2)
        for x, y in zip(xs, ys, strict=True):
            d.ellipse([x - 3, y - 3, x + 3, y + 3], outline=colour)
    else:
        bw = max(3, int((xs[1] - xs[0]) * 0.6))
        for x, y in zip(xs, ys, strict=True):
            d.rectangle([x - bw / 2, y, x + bw / 2, bottom - 1], fill=colour)
    d.text((w // 2 - 20, bottom + 4), "time (h)", fill=(0, 0, 0), font=font)
    return img


def _tile(rng: np.random.Generator, sources: list[Image.Image], w: int, h: int) -> Image.Image:
    if rng.random() < 0.3:
        return _chart(rng, w, h)
    src = sources[int(rng.integers(len(sources)))].convert("RGB")
    # a random crop with the tile's aspect ratio, then resize
    aspect = w / h
    cw = min(src.width, int(src.height * aspect))
    ch = int(cw / aspect)
    x = int(rng.integers(0, src.width - cw + 1))
    y = int(rng.integers(0, src.height - ch + 1))
    return src.crop((x, y, x + cw, y + ch)).resize((w, h))


def _cells(rng: np.random.Generator, layout: str, width: int) -> list[Box]:
    """Panel rectangles (before gaps) of one layout on a canvas `width` wide."""
    if layout == "single":
        return [(0, 0, width, int(width * rng.uniform(0.6, 1.0)))]
    if layout == "irregular":
        big_w = int(width * rng.uniform(0.5, 0.65))
        n = int(rng.integers(2, 4))
        h = int(big_w * rng.uniform(0.8, 1.1))
        cells = [(0, 0, big_w, h)]
        for k in range(n):
            cells.append((big_w, k * h // n, width, (k + 1) * h // n))
        return cells
    rows, cols = (
        (1, int(rng.integers(2, 5)))
        if layout == "strip"
        else (
            int(rng.integers(2, 4)),
            int(rng.integers(2, 4)),
        )
    )
    cw = width // cols
    ch = int(cw * rng.uniform(0.7, 1.1))
    return [(c * cw, r * ch, (c + 1) * cw, (r + 1) * ch) for r in range(rows) for c in range(cols)]


def _label_text(style: str, index: int) -> str:
    letter = chr(ord("a") + index)
    return {"A": letter.upper(), "a": letter, "(a)": f"({letter})", "A.": f"{letter.upper()}."}.get(
        style, ""
    )


def make_figure(rng: np.random.Generator, sources: list[Image.Image], layout: str) -> SynthFigure:
    width = int(rng.integers(500, 1100))
    gap = int(rng.choice(GAPS))
    border = int(rng.choice((0, 0, 1, 2)))
    style = str(rng.choice(LABEL_STYLES)) if layout != "single" else ""
    place = str(rng.choice(LABEL_PLACES))
    quality = rng.choice(np.array(QUALITIES, dtype=object))
    font = label_font(max(14, width // 40))
    band = font.size + 6 if style and place == "outside" else 0
    margin = 8
    cells = _cells(rng, layout, width)
    canvas_w = width + 2 * margin + gap * 4
    canvas_h = max(c[3] for c in cells) + 2 * margin + (gap + band) * 4
    canvas = Image.new("RGB", (canvas_w, canvas_h), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    rows = sorted({c[1] for c in cells})
    cols = sorted({c[0] for c in cells})
    boxes, labels = [], []
    for index, (x0, y0, x1, y1) in enumerate(cells):
        # shift each cell by the gaps and label bands before it
        ox = margin + cols.index(x0) * gap
        oy = margin + rows.index(y0) * (gap + band) + band
        px0, py0 = x0 + ox, y0 + oy
        pw = x1 - x0 - (gap if x1 < width else 0)
        ph = y1 - y0
        tile = _tile(rng, sources, max(40, pw), max(40, ph))
        canvas.paste(tile, (px0, py0))
        box = (px0, py0, px0 + tile.width, py0 + tile.height)
        if border:
            draw.rectangle(
                [box[0], box[1], box[2] - 1, box[3] - 1], outline=(0, 0, 0), width=border
            )
        text = _label_text(style, index)
        if text:
            box = _draw_label(draw, font, text, box, place, band)
        boxes.append(box)
        labels.append(text.strip("().") or None)
    img = canvas
    if quality is not None:
        buf = io.BytesIO()
        canvas.save(buf, format="JPEG", quality=int(quality))
        img = Image.open(io.BytesIO(buf.getvalue()))
        img.load()
    return SynthFigure(
        img, boxes, labels, layout, gap, border, style, place, quality, _caption(labels)
    )


def _caption(labels: list[str | None]) -> str:
    title = "Effects of the treatment on the tissue."
    if len(labels) < 2 or not all(labels):
        return f"{title} Representative images and measurements are shown."
    parts = " ".join(f"({lab}) Condition {k + 1}." for k, lab in enumerate(labels))
    return f"{title} {parts}"


def _draw_label(
    draw: ImageDraw.ImageDraw, font: ImageFont.ImageFont, text: str, box: Box, place: str, band: int
) -> Box:
    x0, y0, x1, y1 = box
    if place == "outside":
        draw.text((x0, y0 - band), text, fill=(0, 0, 0), font=font)
        return (x0, y0 - band, x1, y1)
    tw, th = draw.textbbox((0, 0), text, font=font)[2:]
    ty = y0 + 6 if place == "inside" else y1 - th - 8
    # a light letter on a dark patch or a dark one on a light patch, as journals do
    patch = draw._image.crop((x0 + 6, ty, x0 + 6 + tw, ty + th)).convert("L")
    light = np.asarray(patch).mean() < 128
    draw.text((x0 + 6, ty), text, fill=(255, 255, 255) if light else (0, 0, 0), font=font)
    return box


def synthetic_set(
    seed: int, count: int, extra_sources: list[Image.Image] | None = None
) -> list[SynthFigure]:
    """`count` figures: about 80% compound (grid, strip, irregular) and 20% single."""
    rng = np.random.default_rng(seed)
    sources = bundled_panels() + list(extra_sources or [])
    layouts = ("grid", "strip", "irregular", "single", "grid", "strip", "irregular", "grid")
    layouts += ("single", "strip")
    return [make_figure(rng, sources, layouts[i % len(layouts)]) for i in range(count)]


def figure_record(
    img: Image.Image, key: str, caption: str | None, fmt: str | None = None, **fields: object
) -> dict:
    """A figure record holding `img` as the extract stage would write it: `fmt`, or by
    default JPEG, or PNG when it has alpha or a palette. `fields` fill other columns."""
    has_alpha = img.mode in ("RGBA", "P", "LA")
    fmt = fmt or ("png" if has_alpha else "jpeg")
    buf = io.BytesIO()
    img.convert("RGBA" if fmt == "png" and has_alpha else "RGB").save(buf, format=fmt.upper())
    name = key.rsplit("/", 1)[-1].lower()
    return new_record(
        FIGURE_SCHEMA,
        key=key,
        caption=caption,
        image={"bytes": buf.getvalue(), "path": f"{name}.{fmt}"},
        image_format=fmt,
        width=img.width,
        height=img.height,
        image_status="ok",
        **fields,
    )
