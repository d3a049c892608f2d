"""Recursive XY-cut of a figure into panel boxes, in work-image pixels.

A region is cut along rows (or columns) of one uniform colour across it: whitespace, black
gutters, separator lines and panel borders. Where panels touch, it is cut along a straight
step edge that runs across nearly all of it; where the layout is not a guillotine one, its
connected blocks are taken apart. A cut stands only if two or more pieces are panel-sized.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from transforms.boxes import iou
from transforms.segment.panel_absorb import absorb
from transforms.segment.panel_geometry import Box, true_runs
from transforms.segment.panel_ink import InkMap
from transforms.segment.panel_types import SegmentConfig

Runs = list[tuple[int, int]]


class XYCut:
    def __init__(
        self, gray: np.ndarray, config: SegmentConfig, color: np.ndarray | None = None
    ) -> None:
        self.ink = InkMap(gray, config)
        # colour tells touching pictures apart where their greys match (H&E beside a fundus)
        self.color = (color if color is not None else gray[:, :, None]).astype(np.int16)
        self.cfg = config
        self.decided: tuple[int, str] | None = None  # (depth, kind) of the outermost cut made
        self.connectors: list[Box] = []  # small pieces holding a long thin stroke (an arrow)

    def split(self, box: Box, depth: int) -> list[Box]:
        ink = self.ink
        trimmed = ink.trim(box)
        if trimmed is None:
            return []
        x0, y0, x1, y1 = trimmed
        if depth >= self.cfg.max_depth or not ink.panel_sized(trimmed):
            return [trimmed]
        top, left, bottom, right = ink.rules(trimmed)
        if min(top, left, bottom, right) > 0:
            # a closed frame: one panel, or a figure-wide frame around several
            inner = self.split((x0 + left, y0 + top, x1 - right, y1 - bottom), depth + 1)
            return inner if len(inner) >= 2 else [trimmed]
        sub = ink.g[y0:y1, x0:x1]
        options = [(axis, separators(sub, axis, ink.bg, self.cfg)) for axis in (1, 0)]
        options = [(axis, runs) for axis, runs in options if runs]
        if not options:
            options = [(axis, step_edges(self.color, trimmed, axis, self.cfg)) for axis in (1, 0)]
            options = [(axis, runs) for axis, runs in options if runs]
        if options:
            axis, runs = max(options, key=lambda o: max(b - a for a, b in o[1]))
            parts = pieces(trimmed, axis, runs)
            kind = "edges" if runs[0][0] == runs[0][1] else "gutters"
        else:
            parts = blocks(ink, trimmed)
            kind = "blocks"
        if len(parts) < 2:
            return [trimmed]
        leaves = [leaf for part in parts for leaf in self.split(part, depth + 1)]
        merged = absorb(leaves, ink)
        if len(merged) < 2:
            return [trimmed]
        # the small pieces of a cut that stands: what lies between its panels
        self.connectors += [b for b in leaves if not ink.panel_sized(b) and self._stroke(b)]
        if self.decided is None or depth <= self.decided[0]:
            self.decided = (depth, kind)
        return merged

    def _stroke(self, box: Box) -> bool:
        """A connected stroke at least three text heights long and a quarter as thick: an
        arrow or a leader line, not a word (whose letters are apart)."""
        x0, y0, x1, y1 = box
        labels, _ = ndimage.label(self.ink.ink[y0:y1, x0:x1])
        text = self.ink.text_px
        for sl in ndimage.find_objects(labels):
            h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
            if max(h, w) >= 3 * text and min(h, w) <= max(h, w) / 4:
                return True
        return False


def separators(sub: np.ndarray, axis: int, bg: int, config: SegmentConfig) -> Runs:
    """Runs of uniform lines across `sub` (axis 1: rows, axis 0: columns)."""
    uniform = (sub.max(axis) - sub.min(axis)) <= config.uniform_tol
    mean = sub.mean(axis)
    near_bg = np.abs(mean - bg) <= config.background_tol
    n = uniform.shape[0]
    # background bands of any width
    runs = [(a, b) for a, b in true_runs(uniform & near_bg) if a > 0 and b < n]
    for a, b in true_runs(uniform & ~near_bg):
        if a == 0 or b == n or b - a > max(3, n // 60):
            continue
        # a band of another colour separates only as a thin line that stands out from
        # both sides (not a smooth stretch inside a photograph)
        line = mean[a:b].mean()
        contrast = min(abs(line - mean[a - 1]), abs(line - mean[b]))
        if contrast > 2 * config.uniform_tol:
            runs.append((a, b))
    return sorted(runs)


def step_edges(color: np.ndarray, box: Box, axis: int, config: SegmentConfig) -> Runs:
    """Straight step edges across `box`, where panels touch without a gap: lines whose
    typical (median) step to the next line is large next to that of nearby lines."""
    x0, y0, x1, y1 = box
    sub = color[y0:y1, x0:x1]
    step = np.abs(np.diff(sub, axis=1 - axis)).max(axis=2)
    typical = np.median(step, axis=axis)
    nearby = ndimage.median_filter(typical, size=21, mode="nearest")
    # the step must hold along nearly all of the line: a bar's edge or a plot's frame
    # covers only part of it
    along = (step >= config.edge_tol / 3).mean(axis)
    strong = (along >= config.edge_frac) & (typical >= 4 * nearby + 4)
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


def pieces(box: Box, axis: int, runs: Runs) -> list[Box]:
    """The parts of `box` between the cut runs, along rows (axis 1) or columns (axis 0)."""
    x0, y0, x1, y1 = box
    start = 0
    out = []
    stops = [*runs, (y1 - y0 if axis == 1 else x1 - x0,) * 2]
    for a, b in stops:
        if a > start:
            out.append((x0, y0 + start, x1, y0 + a) if axis == 1 else (x0 + start, y0, x0 + a, y1))
        start = b
    return out


def blocks(ink: InkMap, box: Box) -> list[Box]:
    """Connected layout blocks of a region that has no straight cut."""
    x0, y0, x1, y1 = box
    mask = ndimage.binary_dilation(ink.ink[y0:y1, x0:x1], iterations=2)
    labels, count = ndimage.label(mask)
    if count < 2 or count > 500:
        return []
    found = [
        (x0 + s[1].start, y0 + s[0].start, x0 + s[1].stop, y0 + s[0].stop)
        for s in ndimage.find_objects(labels)
    ]
    big = [b for b in found if ink.panel_sized(b)]
    if len(big) < 2 or any(iou(a, b) > 0 for i, a in enumerate(big) for b in big[i + 1 :]):
        return []
    return found
