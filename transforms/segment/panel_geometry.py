"""Box arithmetic for panel segmentation, in work-image or parent pixels."""

from __future__ import annotations

import numpy as np

from transforms.boxes import area, intersection, merge_until_stable, union

Box = tuple[int, int, int, int]  # x0, y0, x1, y1


def gap(a: Box, b: Box) -> int:
    """Chebyshev gap between two boxes (0 when they touch or overlap)."""
    dx = max(0, max(a[0], b[0]) - min(a[2], b[2]))
    dy = max(0, max(a[1], b[1]) - min(a[3], b[3]))
    return max(dx, dy)


def scale_box(box: Box, factor: float, width: int, height: int) -> Box:
    """A work-image box in the parent's pixels, clamped to the image."""
    x0, y0, x1, y1 = (round(v * factor) for v in box)
    return (max(0, x0), max(0, y0), min(width, x1), min(height, y1))


def true_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True."""
    padded = np.concatenate(([False], flags, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


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


def regular(boxes: list[Box], tol: float = 0.35) -> bool:
    """All boxes about as wide, or all about as tall, as their median: a grid or a strip."""
    widths = sorted(b[2] - b[0] for b in boxes)
    heights = sorted(b[3] - b[1] for b in boxes)

    def close(values: list[int]) -> bool:
        mid = values[len(values) // 2]
        return all(abs(v - mid) <= tol * mid for v in values)

    return close(widths) and close(heights)
