"""The dataset card's plots as PNG bytes, drawn with Pillow (no plotting library needed).

Horizontal bar charts: one bar per label, or a pair per label (before and after
balancing). The same numbers give the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from transforms.segment.contact_sheet import SheetItem, contact_sheet

BAR_COLOURS = [(0, 114, 178), (230, 159, 0)]  # colour-blind safe blue and orange
_ROW = 22
_LABEL_W = 260
_BAR_W = 420
_NUMBER_W = 90


def _font(size: int = 13) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False, compress_level=9)
    return out.getvalue()


def _clip_label(label: str, limit: int = 38) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Sequence[float]],
    legend: Sequence[str] = (),
) -> bytes:
    """Horizontal bars: `series[s][i]` is series s's value for `labels[i]`."""
    if any(len(values) != len(labels) for values in series):
        raise ValueError("every series needs one value per label")
    per_label = max(1, len(series))
    height = 50 + len(legend) * 18 + max(1, len(labels)) * (_ROW * per_label + 6)
    img = Image.new("RGB", (_LABEL_W + _BAR_W + _NUMBER_W + 20, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.text((10, 10), title, fill=(0, 0, 0), font=_font(16))
    top = 38
    for index, name in enumerate(legend):
        colour = BAR_COLOURS[index % len(BAR_COLOURS)]
        draw.rectangle([10, top + 3, 22, top + 13], fill=colour)
        draw.text((28, top), name, fill=(0, 0, 0), font=_font())
        top += 18
    peak = max([value for values in series for value in values] + [1])
    y = top + 6
    for i, label in enumerate(labels):
        draw.text((10, y + 3), _clip_label(label), fill=(0, 0, 0), font=_font())
        for s, values in enumerate(series):
            value = values[i]
            width = round(_BAR_W * value / peak)
            colour = BAR_COLOURS[s % len(BAR_COLOURS)]
            x0 = _LABEL_W
            draw.rectangle([x0, y + 2, x0 + max(1, width), y + _ROW - 4], fill=colour)
            shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3g}"
            draw.text((x0 + width + 6, y + 3), shown, fill=(60, 60, 60), font=_font(12))
            y += _ROW
        y += 6
    return _png(img)


def sample_sheet(items: Sequence[tuple[str, bytes]], columns: int = 4) -> bytes:
    """A contact sheet of sample images, each titled with its key."""
    sheet_items = []
    for title, data in items:
        image = Image.open(io.BytesIO(data))
        image.load()
        sheet_items.append(SheetItem(title=title, image=image, boxes=(), labels=()))
    return _png(contact_sheet(sheet_items, columns=columns, thumb=240))
