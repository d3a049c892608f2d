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
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from transforms.segment.panel_geometry import Box, reading_order, regular, scale_box
from transforms.segment.panel_lettering import letter_panels
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
    caption. Its letters narrow what a panel letter may be read as; when it names no
    panels, a split needs image evidence beyond the cuts (letters or a regular grid; wide
    gutters are not: a chart and its far-off legend have them too)."""
    cfg = config or SegmentConfig()
    h, w = gray.shape
    whole: Box = (0, 0, w, h)
    if h < 16 or w < 16 or int(gray.max()) - int(gray.min()) <= cfg.uniform_tol:
        return Segmentation((Panel(whole),), "single", 1.0)
    cutter = XYCut(gray, cfg, color)
    boxes = cutter.split(whole, 0)
    if len(boxes) < 2:
        return Segmentation((Panel(whole),), "single", 1.0)
    boxes = reading_order(boxes)
    hints = hints or CaptionHints()
    boxes, labels = letter_panels(gray, boxes, cutter.ink.bg > 128, hints)
    lettered = sum(1 for lab in labels if lab)
    evident = lettered >= 2 or regular(boxes)
    if len(boxes) < 2 or (hints.marked is False and not evident):
        return Segmentation((Panel(whole),), "single", 0.5)
    order = reading_order(boxes)
    by_box = dict(zip(boxes, labels, strict=True))
    grid = regular(boxes)
    panels = tuple(
        Panel(box, by_box[box], round(0.6 + 0.2 * grid + (0.2 if by_box[box] else 0.0), 3))
        for box in order
    )
    score = round(sum(p.score for p in panels) / len(panels), 3)
    return Segmentation(panels, "xycut+labels" if lettered >= 2 else "xycut", score)


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
    panels = tuple(Panel(scale_box(p.bbox, factor, w, h), p.label, p.score) for p in seg.panels)
    if not seg.is_compound:
        panels = (Panel((0, 0, w, h), None, seg.score),)
    return Segmentation(panels, seg.method, seg.score)
