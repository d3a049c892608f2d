"""Contact sheets: figures with their panel boxes and labels drawn on, for checking by eye."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from PIL import Image, ImageDraw, ImageFont

COLOURS = [
    (230, 25, 75),
    (60, 180, 75),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (0, 160, 160),
]


@dataclass(frozen=True)
class SheetItem:
    title: str
    image: Image.Image
    boxes: Sequence[tuple[int, int, int, int]]
    labels: Sequence[str | None]
    # optional reference boxes (ground truth), drawn dashed-thin in grey
    reference: Sequence[tuple[int, int, int, int]] = ()


def draw_panels(item: SheetItem, thumb: int) -> Image.Image:
    """The figure scaled to fit `thumb` x `thumb`, boxes and labels drawn over it."""
    img = item.image.convert("RGB")
    scale = min(1.0, thumb / max(img.size))
    img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(12, thumb // 30))
    for box in item.reference:
        draw.rectangle([round(v * scale) for v in box], outline=(128, 128, 128), width=1)
    for index, (box, label) in enumerate(zip(item.boxes, item.labels, strict=True)):
        colour = COLOURS[index % len(COLOURS)]
        x0, y0, x1, y1 = (round(v * scale) for v in box)
        draw.rectangle([x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)], outline=colour, width=3)
        tag = f"{index}:{label}" if label else str(index)
        tx, ty, tx1, ty1 = draw.textbbox((x0 + 4, y0 + 4), tag, font=font)
        draw.rectangle([tx - 2, ty - 2, tx1 + 2, ty1 + 2], fill=colour)
        draw.text((x0 + 4, y0 + 4), tag, fill=(255, 255, 255), font=font)
    return img


def contact_sheet(items: Sequence[SheetItem], columns: int = 3, thumb: int = 420) -> Image.Image:
    """All items in a grid, each with its title under it."""
    font = ImageFont.load_default(size=14)
    cell_w, cell_h = thumb + 16, thumb + 40
    rows = max(1, -(-len(items) // columns))
    sheet = Image.new("RGB", (columns * cell_w, rows * cell_h), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for index, item in enumerate(items):
        x, y = (index % columns) * cell_w + 8, (index // columns) * cell_h + 8
        sheet.paste(draw_panels(item, thumb), (x, y))
        draw.text((x, y + thumb + 6), item.title[:60], fill=(0, 0, 0), font=font)
    return sheet


def _read_rows(folder: Path, columns: list[str]) -> list[dict]:
    files = sorted(folder.glob("data-*.parquet"))
    if not files:
        return []
    return pq.read_table(files, columns=columns).to_pylist()


def _parent_image(key: str, parents: dict[str, dict], panels: list[dict]) -> Image.Image | None:
    """The parent's image from the figures folder, else rebuilt from its crops."""
    parent = parents.get(key)
    if parent and parent.get("image"):
        return Image.open(io.BytesIO(parent["image"]["bytes"]))
    boxes = [p["bbox"] for p in panels if p.get("bbox") and p.get("image")]
    if not boxes:
        return None
    canvas = Image.new("RGB", (max(b[2] for b in boxes), max(b[3] for b in boxes)), (235,) * 3)
    for p in panels:
        if p.get("bbox") and p.get("image"):
            crop = Image.open(io.BytesIO(p["image"]["bytes"])).convert("RGB")
            canvas.paste(crop, tuple(p["bbox"][:2]))
    return canvas


def sheet_from_folders(
    panels_dir: Path, figures_dir: Path | None = None, samples: int = 12, columns: int = 3
) -> Image.Image:
    """A contact sheet of up to `samples` figures from a panels folder, compound ones first,
    picked in key order (deterministic)."""
    return contact_sheet(sheet_items(panels_dir, figures_dir, samples), columns=columns)


def sheet_items(
    panels_dir: Path, figures_dir: Path | None = None, samples: int = 12
) -> list[SheetItem]:
    """The figures of a contact sheet, each with its panels in `panel_index` order."""
    cols = ["key", "parent_key", "panel_index", "panel_label", "bbox", "is_compound", "image"]
    cols.append("seg_method")
    rows = [r for r in _read_rows(panels_dir, cols) if r["seg_method"] != "parent"]
    by_parent: dict[str, list[dict]] = {}
    for row in rows:
        by_parent.setdefault(row["parent_key"] or row["key"], []).append(row)
    order = sorted(by_parent, key=lambda k: (not by_parent[k][0]["is_compound"], k))[:samples]
    parents: dict[str, dict] = {}
    if figures_dir is not None and figures_dir.is_dir():
        wanted = set(order)
        parents = {
            r["key"]: r for r in _read_rows(figures_dir, ["key", "image"]) if r["key"] in wanted
        }
    items = []
    for key in order:
        # by panel_index: keys sort as text ("p10" before "p2")
        panels = sorted(by_parent[key], key=lambda r: (r.get("panel_index") or 0, r["key"]))
        image = _parent_image(key, parents, panels)
        if image is None:
            continue
        boxes = [tuple(p["bbox"]) for p in panels if p.get("bbox")]
        labels = [p["panel_label"] for p in panels if p.get("bbox")]
        items.append(SheetItem(f"{key} ({len(panels)})", image, boxes, labels))
    return items
