"""Where a figure's ink lies against its background, and which regions are panel-sized."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from transforms.segment.panel_geometry import Box
from transforms.segment.panel_types import SegmentConfig


class InkMap:
    """The work image's grey levels, its background grey and its ink mask."""

    def __init__(self, gray: np.ndarray, config: SegmentConfig) -> None:
        self.g = gray.astype(np.int16)
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

    def rules(self, box: Box) -> tuple[int, int, int, int]:
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
        top, left, bottom, right = self.rules(inked)
        if min(top, left, bottom, right) > 0 or max(top, left, bottom, right) == 0:
            return inked
        x0, y0, x1, y1 = inked
        return self._ink_box((x0 + left, y0 + top, x1 - right, y1 - bottom))
