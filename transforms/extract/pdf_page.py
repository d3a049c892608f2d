"""One PDF page as layout geometry, in PDF points: text blocks and graphics."""

from __future__ import annotations

from dataclasses import dataclass

from transforms.boxes import area, intersection

Rect = tuple[float, float, float, float]

RULE_THICKNESS = 2.0  # thinner graphics are rules: they join clusters, never seed a figure


def expand(r: Rect, d: float) -> Rect:
    return (r[0] - d, r[1] - d, r[2] + d, r[3] + d)


def h_overlap(a: Rect, b: Rect) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0]))


def iou(a: Rect, b: Rect) -> float:
    inter = intersection(a, b)
    whole = area(a) + area(b) - inter
    return inter / whole if whole > 0 else 0.0


@dataclass
class TextBlock:
    bbox: Rect
    text: str
    n_lines: int
    size: float  # font size of its first line


@dataclass
class Graphic:
    bbox: Rect
    raster: bool
    xref: int = 0

    @property
    def rule(self) -> bool:
        return min(self.bbox[2] - self.bbox[0], self.bbox[3] - self.bbox[1]) < RULE_THICKNESS


@dataclass
class PageLayout:
    number: int  # 0-based
    width: float
    height: float
    blocks: list[TextBlock]
    graphics: list[Graphic]
