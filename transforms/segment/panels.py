"""Split a compound figure into panel boxes with classical image analysis (no model).

1. Work on a grey copy whose longest side is at most `work_side`.
2. Recursive XY-cut. A region is cut along rows (or columns) of one uniform colour across
   it: whitespace, black gutters, separator lines and panel borders. Where panels touch,
   it is cut along a straight step edge that runs across nearly all of it; where the
   layout is not a guillotine one, its connected blocks are taken apart.
3. A region stays cut only if two or more of its pieces are panel-sized (large enough and
   holding some shape bigger than text); the small ones (tick labels, axis titles, legends,
   letters) join their nearest panel-sized sibling, on one side only.
4. Panel letters are read at the corners. When two or more panels carry letters, an
   unlettered block joins the lettered panel above or left of it: one label, one panel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from transforms.boxes import area, intersection, iou, merge_until_stable, union
from transforms.segment.panel_labels import LabelHit, find_label, find_labels

Box = tuple[int, int, int, int]  # x0, y0, x1, y1
SAME_SHAPE = set("cosuvwxz")  # letters whose capital is the small one enlarged


@dataclass(frozen=True)
class SegmentConfig:
    work_side: int = 800  # longest side of the analysis image
    uniform_tol: int = 28  # grey range of a separator row or column
    background_tol: int = 14  # grey distance from the page colour that is still page
    edge_tol: int = 40  # grey step of a touching-panel edge
    edge_frac: float = 0.8  # share of a line that must step for an edge cut
    min_side: float = 0.1  # a panel spans at least this share of the figure's width/height
    min_area: float = 0.02  # ... and this share of its area
    min_ink: float = 0.02  # ... and this share of its pixels differ from the background
    max_depth: int = 8


@dataclass(frozen=True)
class CaptionHints:
    """What a figure's caption says about its panels (the defaults: no caption)."""

    letters: frozenset[str] | None = None  # letters panels may carry; empty: read none
    marked: bool | None = None  # whether the caption names panels at all
    named: frozenset[str] = frozenset()  # the letters its panel texts open with, lower case


@dataclass(frozen=True)
class Panel:
    bbox: Box
    label: str | None = None
    score: float = 1.0


@dataclass(frozen=True)
class Segmentation:
    panels: tuple[Panel, ...]
    method: str  # "single" or "xycut" / "xycut+labels"
    score: float

    @property
    def is_compound(self) -> bool:
        return len(self.panels) > 1


def gap(a: Box, b: Box) -> int:
    """Chebyshev gap between two boxes (0 when they touch or overlap)."""
    dx = max(0, max(a[0], b[0]) - min(a[2], b[2]))
    dy = max(0, max(a[1], b[1]) - min(a[3], b[3]))
    return max(dx, dy)


def scale_box(box: Box, factor: float, width: int, height: int) -> Box:
    """A work-image box in the parent's pixels, clamped to the image."""
    x0, y0, x1, y1 = (round(v * factor) for v in box)
    return (max(0, x0), max(0, y0), min(width, x1), min(height, y1))


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True."""
    padded = np.concatenate(([False], flags, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


class _Segmenter:
    def __init__(
        self, gray: np.ndarray, config: SegmentConfig, color: np.ndarray | None = None
    ) -> None:
        self.g = gray.astype(np.int16)
        # colour tells touching pictures apart where their greys match (H&E beside a fundus)
        self.color = (color if color is not None else gray[:, :, None]).astype(np.int16)
        self.cfg = config
        h, w = gray.shape
        self.h, self.w = h, w
        border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
        counts = np.bincount(border // 8, minlength=32)
        # the commonest border grey is the background, unless pictures fill the border
        # (no margin): then assume the page's white
        self.bg = int(counts.argmax()) * 8 + 4 if counts.max() >= 0.3 * border.size else 251
        self.ink = np.abs(self.g - self.bg) > config.background_tol
        self.text_px = max(6, max(h, w) // 40)  # a generous height of a line of text
        self._pictures: dict[Box, bool] = {}

    def panel_sized(self, box: Box) -> bool:
        x0, y0, x1, y1 = box
        bw, bh = x1 - x0, y1 - y0
        c = self.cfg
        if bw < max(12, c.min_side * self.w) or bh < max(12, c.min_side * self.h):
            return False
        if bw * bh < c.min_area * self.w * self.h:
            return False
        if float(self.ink[y0:y1, x0:x1].mean()) < c.min_ink:
            return False
        return self._has_picture(box)

    def _has_picture(self, box: Box) -> bool:
        """Some ink shape in the box is larger than text: a plot's axes, a photograph, a
        drawing. A strip of tick labels, an axis title or a legend's words is not a panel
        of its own."""
        if box not in self._pictures:
            x0, y0, x1, y1 = box
            labels, _ = ndimage.label(self.ink[y0:y1, x0:x1])
            text = self.text_px
            self._pictures[box] = any(
                max(sl[0].stop - sl[0].start, sl[1].stop - sl[1].start) >= 3 * text
                or min(sl[0].stop - sl[0].start, sl[1].stop - sl[1].start) >= 1.5 * text
                for sl in ndimage.find_objects(labels)
            )
        return self._pictures[box]

    def _ink_box(self, box: Box) -> Box | None:
        x0, y0, x1, y1 = box
        sub = self.ink[y0:y1, x0:x1]
        rows, cols = np.flatnonzero(sub.any(1)), np.flatnonzero(sub.any(0))
        if rows.size == 0:
            return None
        return (
            x0 + int(cols[0]),
            y0 + int(rows[0]),
            x0 + int(cols[-1]) + 1,
            y0 + int(rows[-1]) + 1,
        )

    def _rules(self, box: Box) -> tuple[int, int, int, int]:
        """Widths of thin uniform lines (frame sides, page rules) at the box's top, left,
        bottom and right edges; 0 where there is none."""
        x0, y0, x1, y1 = box
        g, tol, rule = self.g[y0:y1, x0:x1], self.cfg.uniform_tol, 4
        rows = np.flatnonzero((g.max(1) - g.min(1)) > tol)
        cols = np.flatnonzero((g.max(0) - g.min(0)) > tol)
        if rows.size == 0 or cols.size == 0:
            return (0, 0, 0, 0)
        # thin lines only; a smooth stretch of picture is uniform line by line too
        sides = (
            int(rows[0]),
            int(cols[0]),
            (y1 - y0) - int(rows[-1]) - 1,
            (x1 - x0) - int(cols[-1]) - 1,
        )
        return tuple(v if v <= rule else 0 for v in sides)  # type: ignore[return-value]

    def trim(self, box: Box) -> Box | None:
        """Shrink to the content: drop background rows and columns, and stray rules (page
        borders) at the edges. A frame closed on all four sides stays with its panel."""
        inked = self._ink_box(box)
        if inked is None:
            return None
        top, left, bottom, right = self._rules(inked)
        if min(top, left, bottom, right) > 0 or max(top, left, bottom, right) == 0:
            return inked
        x0, y0, x1, y1 = inked
        return self._ink_box((x0 + left, y0 + top, x1 - right, y1 - bottom))

    def _separators(self, sub: np.ndarray, axis: int) -> list[tuple[int, int]]:
        """Runs of uniform lines across `sub` (axis 1: rows, axis 0: columns)."""
        uniform = (sub.max(axis) - sub.min(axis)) <= self.cfg.uniform_tol
        mean = sub.mean(axis)
        near_bg = np.abs(mean - self.bg) <= self.cfg.background_tol
        n = uniform.shape[0]
        # background bands of any width
        runs = [(a, b) for a, b in _runs(uniform & near_bg) if a > 0 and b < n]
        for a, b in _runs(uniform & ~near_bg):
            if a == 0 or b == n or b - a > max(3, n // 60):
                continue
            # a band of another colour separates only as a thin line that stands out from
            # both sides (not a smooth stretch inside a photograph)
            line = mean[a:b].mean()
            contrast = min(abs(line - mean[a - 1]), abs(line - mean[b]))
            if contrast > 2 * self.cfg.uniform_tol:
                runs.append((a, b))
        return sorted(runs)

    def _edges(self, box: Box, axis: int) -> list[tuple[int, int]]:
        """Straight step edges across `box`, where panels touch without a gap: lines whose
        typical (median) step to the next line is large next to that of nearby lines."""
        x0, y0, x1, y1 = box
        sub = self.color[y0:y1, x0:x1]
        step = np.abs(np.diff(sub, axis=1 - axis)).max(axis=2)
        typical = np.median(step, axis=axis)
        nearby = ndimage.median_filter(typical, size=21, mode="nearest")
        # the step must hold along nearly all of the line: a bar's edge or a plot's frame
        # covers only part of it
        along = (step >= self.cfg.edge_tol / 3).mean(axis)
        strong = (along >= self.cfg.edge_frac) & (typical >= 4 * nearby + 4)
        n = typical.shape[0] + 1
        margin = max(8, n // 10)
        lines = sub if axis == 1 else sub.transpose(1, 0, 2)
        hits = []
        for i in np.flatnonzero(strong):
            if not margin < i < n - margin:
                continue
            # a seam between two pictures persists a few lines away; a drawn line (an axis,
            # a rule) has the same picture on both sides
            across = np.median(np.abs(lines[i + 4] - lines[i - 3]).max(axis=1))
            if across >= 0.7 * typical[i]:
                hits.append(int(i) + 1)
        return [(i, i) for k, i in enumerate(hits) if k == 0 or hits[k - 1] != i - 1]

    def _pieces(self, box: Box, axis: int, runs: list[tuple[int, int]]) -> list[Box]:
        x0, y0, x1, y1 = box
        start = 0
        out = []
        stops = [*runs, (y1 - y0 if axis == 1 else x1 - x0,) * 2]
        for a, b in stops:
            if a > start:
                out.append(
                    (x0, y0 + start, x1, y0 + a) if axis == 1 else (x0 + start, y0, x0 + a, y1)
                )
            start = b
        return out

    def _blocks(self, box: Box) -> list[Box]:
        """Connected layout blocks of a region that has no straight cut."""
        x0, y0, x1, y1 = box
        mask = ndimage.binary_dilation(self.ink[y0:y1, x0:x1], iterations=2)
        labels, count = ndimage.label(mask)
        if count < 2 or count > 500:
            return []
        blocks = [
            (x0 + s[1].start, y0 + s[0].start, x0 + s[1].stop, y0 + s[0].stop)
            for s in ndimage.find_objects(labels)
        ]
        big = [b for b in blocks if self.panel_sized(b)]
        if len(big) < 2 or any(iou(a, b) > 0 for i, a in enumerate(big) for b in big[i + 1 :]):
            return []
        return blocks

    def split(self, box: Box, depth: int) -> list[Box]:
        trimmed = self.trim(box)
        if trimmed is None:
            return []
        x0, y0, x1, y1 = trimmed
        if depth >= self.cfg.max_depth or not self.panel_sized(trimmed):
            return [trimmed]
        top, left, bottom, right = self._rules(trimmed)
        if min(top, left, bottom, right) > 0:
            # a closed frame: one panel, or a figure-wide frame around several
            inner = self.split((x0 + left, y0 + top, x1 - right, y1 - bottom), depth + 1)
            return inner if len(inner) >= 2 else [trimmed]
        sub = self.g[y0:y1, x0:x1]
        options = [(axis, self._separators(sub, axis)) for axis in (1, 0)]
        options = [(axis, runs) for axis, runs in options if runs]
        if not options:
            options = [(axis, self._edges(trimmed, axis)) for axis in (1, 0)]
            options = [(axis, runs) for axis, runs in options if runs]
        if options:
            axis, runs = max(options, key=lambda o: max(b - a for a, b in o[1]))
            pieces = self._pieces(trimmed, axis, runs)
        else:
            pieces = self._blocks(trimmed)
        if len(pieces) < 2:
            return [trimmed]
        leaves = [leaf for piece in pieces for leaf in self.split(piece, depth + 1)]
        merged = self.absorb(leaves)
        return merged if len(merged) >= 2 else [trimmed]

    def absorb(self, boxes: list[Box]) -> list[Box]:
        """Small boxes join their nearest panel-sized box; overlapping panels merge.

        A small box beside a column of panels (a y-axis title next to stacked plots) is
        cut at the panels' edges and each part joins the panel it lies beside."""
        panels = [b for b in boxes if self.panel_sized(b)]
        if len(panels) < 2:
            return panels
        slack = max(4, (self.w + self.h) // 100)
        # where a small box goes is judged against the panels as cut, not as grown by the
        # boxes placed before it (a grown panel would reach into a strip beside its mates)
        base = list(panels)
        for small in sorted((b for b in boxes if not self.panel_sized(b)), key=area, reverse=True):
            nearest = min(range(len(base)), key=lambda i: _affinity(small, base[i]))
            axis = _shared_axis(small, base[nearest])
            d = gap(small, base[nearest])
            side = _side(small, base[nearest], axis)
            mates = [
                i
                for i, p in enumerate(base)
                if axis is not None
                and _shared_axis(small, p) == axis
                and _side(small, p, axis) == side
                and gap(small, p) <= d + slack
            ]
            if len(mates) < 2:
                panels[nearest] = union(panels[nearest], small)
                continue
            for i in mates:
                part = _clip(small, base[i], axis)
                if part is not None:
                    panels[i] = union(panels[i], part)
        return merge_overlaps(panels)


def _shared_axis(small: Box, panel: Box) -> int | None:
    """1 when the boxes share rows (side by side), 0 when they share columns, else None."""
    if min(small[3], panel[3]) > max(small[1], panel[1]):
        return 1
    if min(small[2], panel[2]) > max(small[0], panel[0]):
        return 0
    return None


def _side(small: Box, panel: Box, axis: int | None) -> bool:
    """Whether the panel lies after the small box (right of it for axis 1, below for 0):
    a title between two panels belongs to one of them, not to both."""
    k = 0 if axis == 1 else 1
    return panel[k] + panel[k + 2] > small[k] + small[k + 2]


def _clip(small: Box, panel: Box, axis: int) -> Box | None:
    """The part of `small` within the panel's rows (axis 1) or columns (axis 0)."""
    if axis == 1:
        y0, y1 = max(small[1], panel[1]), min(small[3], panel[3])
        return (small[0], y0, small[2], y1) if y1 > y0 else None
    x0, x1 = max(small[0], panel[0]), min(small[2], panel[2])
    return (x0, small[1], x1, small[3]) if x1 > x0 else None


def _affinity(small: Box, panel: Box) -> int:
    """Distance from a small box to a panel; a panel that shares no rows or columns with
    it counts as farther by the small box's size (labels and titles sit in line)."""
    shares_x = min(small[2], panel[2]) > max(small[0], panel[0])
    shares_y = min(small[3], panel[3]) > max(small[1], panel[1])
    size = max(small[2] - small[0], small[3] - small[1])
    return gap(small, panel) + (0 if shares_x or shares_y else size)


def merge_overlaps(boxes: list[Box], min_overlap: float = 0.15) -> list[Box]:
    """Merge boxes whose overlap covers `min_overlap` of the smaller one, until none do."""
    return merge_until_stable(
        boxes, lambda a, b: intersection(a, b) > min_overlap * min(area(a), area(b)), union
    )


def reading_order(boxes: list[Box]) -> list[Box]:
    """Rows top to bottom (boxes whose vertical centres fall within a row), then left to right."""
    rows: list[list[Box]] = []
    for box in sorted(boxes, key=lambda b: (b[1], b[0])):
        for row in rows:
            top, bottom = min(b[1] for b in row), max(b[3] for b in row)
            if top <= (box[1] + box[3]) / 2 <= bottom:
                row.append(box)
                break
        else:
            rows.append([box])
    return [b for row in rows for b in sorted(row, key=lambda b: b[0])]


def plausible_labels(
    labels: list[str | None], scores: list[float] | None = None
) -> list[str | None]:
    """Keep the letters that read as a set of panel labels: of the majority case, each
    letter once (the best-matching copy), none far beyond the count found ("H" among four
    letters). All are dropped when fewer than two, than a third of the panels, or than half
    of the letters read remain. Reading order is not required: irregular layouts break it."""
    scores = scores or [1.0] * len(labels)
    found = [lab for lab in labels if lab]
    if len(found) < 2:
        return [None] * len(labels)
    upper = sum(lab.isupper() for lab in found) * 2 >= len(found)
    # "c" and "C", "o" and "O" … differ only in size: take the majority's case for those
    labels = [
        (lab.upper() if upper else lab.lower()) if lab and lab.lower() in SAME_SHAPE else lab
        for lab in labels
    ]
    best: dict[str, int] = {}
    for i, lab in enumerate(labels):
        if lab and lab.isupper() == upper and (lab not in best or scores[i] > scores[best[lab]]):
            best[lab] = i
    top = len(best) + 1
    keep = {i for lab, i in best.items() if ord(lab.lower()) - ord("a") <= top}
    if len(keep) < max(2, len(labels) / 3) or 2 * len(keep) < len(found):
        return [None] * len(labels)
    return [lab if i in keep else None for i, lab in enumerate(labels)]


def _group_by_labels(
    boxes: list[Box], labels: list[str | None], named: frozenset[str]
) -> tuple[list[Box], list]:
    """Unlettered blocks join the lettered panel above or left of them, but only when every
    letter was read (all the caption names, else "a" to the last one found): a missed
    letter would hand its panel to the wrong owner."""
    owners = [i for i, lab in enumerate(labels) if lab]
    letters = sorted(labels[i].lower() for i in owners)
    expected = sorted(named) if named else [chr(ord("a") + k) for k in range(len(letters))]
    if len(owners) < 2 or letters != expected:
        return boxes, labels
    grouped = {i: boxes[i] for i in owners}
    for i, box in enumerate(boxes):
        if labels[i]:
            continue
        cands = [j for j in owners if boxes[j][0] <= box[0] + 4 and boxes[j][1] <= box[1] + 4]
        if not cands:
            grouped[i] = box
            continue
        j = min(cands, key=lambda j: gap(boxes[j], box))
        grown = union(grouped[j], box)
        if any(iou(grown, grouped[k]) > 0 for k in owners if k != j):
            grouped[i] = box  # joining would swallow another lettered panel
        else:
            grouped[j] = grown
    keys = sorted(grouped)
    return [grouped[k] for k in keys], [labels[k] for k in keys]


def assign_labels(boxes: list[Box], hits: list[LabelHit]) -> list[LabelHit | None]:
    """Each letter to the panel whose top-left corner it sits at (above, left of or just
    inside it), nearest pairs first; one letter per panel."""
    pairs = []
    for j, hit in enumerate(hits):
        hx0, hy0, hx1, hy1 = hit.bbox
        size = hy1 - hy0
        for i, (x0, y0, x1, y1) in enumerate(boxes):
            if hx1 < x0 - 4 * size or hx0 > x0 + 0.3 * (x1 - x0):
                continue
            if hy1 < y0 - 4 * size or hy0 > y0 + 0.3 * (y1 - y0):
                continue
            pairs.append((abs(hx0 - x0) + abs(hy0 - y0), i, j))
    out: list[LabelHit | None] = [None] * len(boxes)
    used: set[int] = set()
    for _, i, j in sorted(pairs):
        if out[i] is None and j not in used:
            out[i] = hits[j]
            used.add(j)
    return out


def regular(boxes: list[Box], tol: float = 0.35) -> bool:
    """All boxes about as wide, or all about as tall, as their median: a grid or a strip."""
    widths = sorted(b[2] - b[0] for b in boxes)
    heights = sorted(b[3] - b[1] for b in boxes)

    def close(values: list[int]) -> bool:
        mid = values[len(values) // 2]
        return all(abs(v - mid) <= tol * mid for v in values)

    return close(widths) and close(heights)


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
    whole = (0, 0, w, h)
    if h < 16 or w < 16 or int(gray.max()) - int(gray.min()) <= cfg.uniform_tol:
        return Segmentation((Panel(whole),), "single", 1.0)
    seg = _Segmenter(gray, cfg, color)
    boxes = seg.split(whole, 0)
    if len(boxes) < 2:
        return Segmentation((Panel(whole),), "single", 1.0)
    boxes = reading_order(boxes)
    hints = hints or CaptionHints()
    allowed = set(hints.letters) if hints.letters is not None else None
    labels: list[str | None] = [None] * len(boxes)
    if allowed is None or allowed:
        side = max(h, w)
        glyph = (max(7, side // 90), max(16, side // 18))
        hits = assign_labels(boxes, find_labels(gray, glyph, seg.bg > 128, allowed))
        hits = [
            hit or find_label(gray, box, glyph, allowed)
            for hit, box in zip(hits, boxes, strict=True)
        ]
        labels = plausible_labels(
            [hit.text if hit else None for hit in hits], [hit.score if hit else 0.0 for hit in hits]
        )
        # a panel's box takes in its letter
        boxes = [
            union(box, hit.bbox) if hit and lab else box
            for box, hit, lab in zip(boxes, hits, labels, strict=True)
        ]
        boxes, labels = _group_by_labels(boxes, labels, hints.named)
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
