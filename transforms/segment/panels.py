"""Split a compound figure into panel boxes with classical image analysis (no model).

1. Work on a grey copy whose longest side is at most `work_side` (here).
2. Recursive XY-cut (panel_xycut): cut along uniform rows or columns, along straight
   step edges where panels touch, or into connected blocks; panel_ink says where the ink
   is and which regions are panel-sized.
3. A region stays cut only if two or more of its pieces are panel-sized; the small ones
   (tick labels, axis titles, legends, letters) join their nearest panel-sized sibling, on
   one side only (panel_absorb).
4. Panel letters are read at the corners (panel_labels) and matched to panels
   (panel_lettering). When two or more panels carry letters, an unlettered block joins the
   lettered panel above or left of it: one label, one panel.
5. The caption decides the rest (panel_regroup): more tiles than the panels it names are
   grouped into that many; when it names none, only letters or a clean grid of similar
   tiles split the figure. `Segmentation.method` says which step decided.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from transforms.segment.panel_geometry import reading_order, scale_box
from transforms.segment.panel_lettering import caption_letters, letter_panels
from transforms.segment.panel_regroup import clean_grid, group_to_count
from transforms.segment.panel_types import CaptionHints, Panel, Segmentation, SegmentConfig
from transforms.segment.panel_xycut import XYCut


def segment_gray(
    gray: np.ndarray,
    config: SegmentConfig | None = None,
    hints: CaptionHints | None = None,
    color: np.ndarray | None = None,
) -> Segmentation:
    """Panel boxes of one figure, in the pixels of `gray` (2-D uint8), in reading order.

    `color`: the same image in RGB (h x w x 3), used where panels touch. `hints`: from the
    caption. Its letters narrow what a panel letter may be read as. When it names N panels
    and the image gives more tiles, the tiles are grouped into N (panel_regroup); fewer are
    kept as they are. When it names none, a split needs letters or a clean grid of similar
    tiles (a scheme, a flow diagram, a chart and its legend stay whole)."""
    cfg = config or SegmentConfig()
    h, w = gray.shape
    if h < 16 or w < 16 or int(gray.max()) - int(gray.min()) <= cfg.uniform_tol:
        return _whole(w, h, "blank or too small to cut")
    cutter = XYCut(gray, cfg, color)
    boxes = cutter.split((0, 0, w, h), 0)
    if len(boxes) < 2 or cutter.decided is None:
        return _whole(w, h, "no cut found")
    tiles = len(boxes)
    hints = hints or CaptionHints()
    boxes, labels = letter_panels(gray, reading_order(boxes), cutter.ink.bg > 128, hints)
    lettered = sum(1 for lab in labels if lab)
    method = "labels" if lettered >= 2 and len(boxes) < tiles else cutter.decided[1]
    detail = f"{tiles} tiles"
    if hints.count >= 2 and len(boxes) > hints.count:
        if lettered < 2:
            labels = caption_letters(gray, boxes, cutter.ink.bg > 128, hints)
        grouped = group_to_count(boxes, labels, hints.count)
        if grouped is not None:
            boxes, labels = grouped
            read = len({lab.lower() for lab in labels if lab})
            method = "caption_labels" if read >= 2 else "caption_count"
            detail = f"{tiles} tiles grouped into the {hints.count} panels the caption names"
        else:
            detail = f"{len(boxes)} panels found; no grouping into the {hints.count} named"
    elif hints.count >= 2 and len(boxes) < hints.count:
        detail = f"{len(boxes)} panels found, fewer than the {hints.count} the caption names"
    elif (
        hints.marked is False
        and lettered < 2
        and not clean_grid(boxes, cutter.ink.ink, cutter.connectors)
    ):
        return _whole(w, h, f"caption names no panels and the {tiles} pieces are no clean grid")
    if len(boxes) < 2:
        return _whole(w, h, "one panel after grouping")
    order = reading_order(boxes)
    by_box = dict(zip(boxes, labels, strict=True))
    return Segmentation(tuple(Panel(box, by_box[box]) for box in order), method, detail)


def _whole(w: int, h: int, why: str) -> Segmentation:
    return Segmentation((Panel((0, 0, w, h)),), "whole", why)


def work_image(img: Image.Image, work_side: int) -> tuple[np.ndarray, int]:
    """A grey copy reduced by a whole factor so its longest side is at most `work_side`."""
    gray = img.convert("L")
    factor = max(1, -(-max(gray.size) // work_side))
    if factor > 1:
        gray = gray.reduce(factor)
    return np.asarray(gray), factor


def work_color(img: Image.Image, factor: int) -> np.ndarray | None:
    """The RGB copy at the work scale, for colour images only."""
    if img.mode in ("L", "1", "I", "I;16", "F", "LA"):
        return None
    rgb = img.convert("RGB")
    return np.asarray(rgb.reduce(factor) if factor > 1 else rgb)


def segment_image(
    img: Image.Image, config: SegmentConfig | None = None, hints: CaptionHints | None = None
) -> Segmentation:
    """Panel boxes of one decoded figure, in its own pixels (see `segment_gray`)."""
    cfg = config or SegmentConfig()
    gray, factor = work_image(img, cfg.work_side)
    seg = segment_gray(gray, cfg, hints, work_color(img, factor))
    if factor == 1:
        return seg
    w, h = img.size
    panels = tuple(Panel(scale_box(p.bbox, factor, w, h), p.label) for p in seg.panels)
    if not seg.is_compound:
        panels = (Panel((0, 0, w, h)),)
    return Segmentation(panels, seg.method, seg.detail)
