"""Small boxes of an XY-cut (tick labels, axis titles, legends, letters) join the panels."""

from __future__ import annotations

from transforms.boxes import area, union
from transforms.segment.panel_geometry import Box, gap, merge_overlaps
from transforms.segment.panel_ink import InkMap


def absorb(boxes: list[Box], ink: InkMap) -> list[Box]:
    """Small boxes join their nearest panel-sized box; overlapping panels merge.

    A small box beside a column of panels (a y-axis title next to stacked plots) is
    cut at the panels' edges and each part joins the panel it lies beside."""
    panels = [b for b in boxes if ink.panel_sized(b)]
    if len(panels) < 2:
        return panels
    slack = max(4, (ink.w + ink.h) // 100)
    # where a small box goes is judged against the panels as cut, not as grown by the
    # boxes placed before it (a grown panel would reach into a strip beside its mates)
    base = list(panels)
    for small in sorted((b for b in boxes if not ink.panel_sized(b)), key=area, reverse=True):
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
