"""Graphics close to each other become clusters; small text inside or right beside a cluster
(axis labels, panel letters) joins it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from transforms.boxes import area, intersection, merge_until_stable, union
from transforms.extract.pdf_page import Graphic, Rect, TextBlock, expand

CLUSTER_GAP = 5.0  # points between graphics of one cluster
LABEL_REACH = 10.0  # how far outside a cluster its axis and panel labels may sit
MIN_SEED = (20.0, 15.0)  # smallest width, height of a cluster a caption may take
MIN_UNCAPTIONED_RASTER = 50.0 * 50.0  # rasters this big without a caption are dropped figures
MIN_UNCAPTIONED_VECTOR_SHARE = 0.05  # of the page area, for vector clusters
MIN_UNCAPTIONED_PATHS = 20
MARGIN_SHARE = 0.09  # of the page height: running heads and feet live there
MAX_TEXT_DENSITY = 0.006  # characters per square point: above it, a text box or table


@dataclass
class Cluster:
    bbox: Rect
    members: list[int]  # indices into the page's graphics
    raster_area: float
    paths: int
    rules_only: bool
    texts: list[int] = field(default_factory=list)  # absorbed text blocks
    text_chars: int = 0

    @property
    def seed(self) -> bool:
        w, h = self.bbox[2] - self.bbox[0], self.bbox[3] - self.bbox[1]
        return not self.rules_only and w >= MIN_SEED[0] and h >= MIN_SEED[1]

    def figure_like(self, page_area: float) -> bool:
        """Big enough to be a figure when no caption claims it (logos, icons are not)."""
        if self.raster_area >= MIN_UNCAPTIONED_RASTER:
            return True
        return (
            not self.rules_only
            and self.paths >= MIN_UNCAPTIONED_PATHS
            and area(self.bbox) >= MIN_UNCAPTIONED_VECTOR_SHARE * page_area
            and self.text_chars <= MAX_TEXT_DENSITY * area(self.bbox)
        )


def cluster_graphics(graphics: list[Graphic], gap: float = CLUSTER_GAP) -> list[Cluster]:
    """Union graphics whose boxes come within `gap` points, then merge overlapping clusters."""
    if not graphics:
        return []
    boxes = np.array([g.bbox for g in graphics], dtype=np.float64)
    parent = list(range(len(graphics)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(graphics) - 1):
        rest = boxes[i + 1 :]
        near = (
            (boxes[i, 0] - gap <= rest[:, 2])
            & (boxes[i, 2] + gap >= rest[:, 0])
            & (boxes[i, 1] - gap <= rest[:, 3])
            & (boxes[i, 3] + gap >= rest[:, 1])
        )
        for j in np.nonzero(near)[0]:
            a, b = find(i), find(i + 1 + int(j))
            if a != b:
                parent[b] = a
    groups: dict[int, list[int]] = {}
    for i in range(len(graphics)):
        groups.setdefault(find(i), []).append(i)
    return _merge_overlapping([_cluster(graphics, m) for m in groups.values()], graphics)


def _cluster(graphics: list[Graphic], members: list[int]) -> Cluster:
    bbox = graphics[members[0]].bbox
    for i in members[1:]:
        bbox = union(bbox, graphics[i].bbox)
    return Cluster(
        bbox=bbox,
        members=sorted(members),
        raster_area=sum(area(graphics[i].bbox) for i in members if graphics[i].raster),
        paths=sum(1 for i in members if not graphics[i].raster),
        rules_only=all(graphics[i].rule for i in members),
    )


def _merge_overlapping(clusters: list[Cluster], graphics: list[Graphic]) -> list[Cluster]:
    merged = merge_until_stable(
        clusters,
        lambda a, b: intersection(a.bbox, b.bbox) > 0,
        lambda a, b: _cluster(graphics, a.members + b.members),
    )
    return sorted(merged, key=lambda c: (c.bbox[1], c.bbox[0]))


def absorb_labels(
    clusters: list[Cluster], blocks: list[TextBlock], skip: set[int], page_h: float
) -> set[int]:
    """Text inside a cluster, or short text right beside it, becomes part of it.

    One pass against the graphics' own boxes, so that labels never chain into body
    text; running heads and feet in the page margins are never labels.
    """
    taken: set[int] = set()
    margin = MARGIN_SHARE * page_h
    for cluster in clusters:
        if cluster.rules_only:
            continue
        core, near = expand(cluster.bbox, 2.0), expand(cluster.bbox, LABEL_REACH)
        grown = cluster.bbox
        for index, block in enumerate(blocks):
            if index in skip or index in taken:
                continue
            if block.bbox[3] <= margin or block.bbox[1] >= page_h - margin:
                continue
            inside = intersection(block.bbox, core) >= 0.5 * max(area(block.bbox), 1e-6)
            short = block.n_lines <= 2 and len(block.text) <= 60
            if inside or (short and intersection(block.bbox, near) > 0):
                taken.add(index)
                cluster.texts.append(index)
                cluster.text_chars += len(block.text)
                grown = union(grown, block.bbox)
        cluster.bbox = grown
    return taken
