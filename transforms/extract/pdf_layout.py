"""Page layout geometry for PDF figures, in PDF points, with no PyMuPDF in sight.

A page is text blocks and graphics (embedded rasters and vector paths). Graphics
close to each other are clustered; small text inside or right beside a cluster
(axis labels, panel letters) joins it. Each caption then takes the nearest cluster
above or below it in its column, and with it every other cluster between the
caption and the nearest body text: several images of one compound layout become
one figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from transforms.boxes import area, intersection, merge_until_stable, union
from transforms.extract.pdf_captions import CaptionLabel, parse_label

Rect = tuple[float, float, float, float]

CLUSTER_GAP = 5.0  # points between graphics of one cluster
LABEL_REACH = 10.0  # how far outside a cluster its axis and panel labels may sit
RULE_THICKNESS = 2.0  # thinner graphics are rules: they join clusters, never seed a figure
MIN_SEED = (20.0, 15.0)  # smallest width, height of a cluster a caption may take
MIN_UNCAPTIONED_RASTER = 50.0 * 50.0  # rasters this big without a caption are dropped figures
MIN_UNCAPTIONED_VECTOR_SHARE = 0.05  # of the page area, for vector clusters
MIN_UNCAPTIONED_PATHS = 20
CAPTION_PAIR_GAP = 30.0  # between the two captions of a bilingual pair
SPREAD_GAP = 12.0  # clusters this close to a caption's region join it beyond its column
FRAME_REACH = 20.0  # how far a cluster round a caption must reach past it to be its figure
MARGIN_SHARE = 0.09  # of the page height: running heads and feet live there
MAX_TEXT_DENSITY = 0.006  # characters per square point: above it, a text box or table


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


@dataclass
class CaptionGroup:
    """One figure's (or table's) caption blocks: a caption, its continuation, its translation."""

    page: int
    blocks: list[int]
    bbox: Rect
    labels: list[CaptionLabel]  # the English one first
    texts: list[str]  # caption text per label, continuation blocks joined

    @property
    def kind(self) -> str:
        return self.labels[0].kind

    @property
    def number(self) -> str:
        return self.labels[0].number

    @property
    def label_only(self) -> bool:
        return not any(self.texts)

    @property
    def continued(self) -> bool:
        return self.labels[0].continued


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


def caption_groups(page: int, blocks: list[TextBlock]) -> list[CaptionGroup]:
    """Caption blocks with their continuation blocks, bilingual pairs as one group."""
    singles: list[CaptionGroup] = []
    used: set[int] = set()
    for index, block in enumerate(blocks):
        label = parse_label(block.text)
        if label is None or index in used:
            continue
        members, bbox, text = [index], block.bbox, label.text
        for nxt in _following(blocks, index, label_only=not label.text):
            if nxt in used or parse_label(blocks[nxt].text) is not None:
                break
            members.append(nxt)
            bbox = union(bbox, blocks[nxt].bbox)
            text = _join(text, blocks[nxt].text)
        used.update(members)
        singles.append(CaptionGroup(page, members, bbox, [label], [text]))
    return _pair_languages(singles)


def _following(blocks: list[TextBlock], index: int, label_only: bool) -> list[int]:
    """Blocks that continue a caption block: just below, same column, same type size."""
    chain, last = [], blocks[index]
    while True:
        best = None
        for j, cand in enumerate(blocks):
            if j == index or j in chain:
                continue
            gap = cand.bbox[1] - last.bbox[3]
            narrow = min(cand.bbox[2] - cand.bbox[0], last.bbox[2] - last.bbox[0])
            if not -2.0 <= gap <= max(3.0, 0.8 * last.size):
                continue
            if h_overlap(cand.bbox, last.bbox) < 0.5 * narrow:
                continue
            if not label_only and (
                cand.bbox[0] < last.bbox[0] - 5.0 or cand.bbox[2] > last.bbox[2] + 5.0
            ):
                continue  # wider than the caption's column: body text below it
            if not label_only and abs(cand.size - last.size) > 0.6:
                continue
            if best is None or cand.bbox[1] < blocks[best].bbox[1]:
                best = j
        if best is None:
            return chain
        chain.append(best)
        last, label_only = blocks[best], False


def _join(text: str, more: str) -> str:
    return f"{text} {more}".strip() if text else more.strip()


def _pair_languages(singles: list[CaptionGroup]) -> list[CaptionGroup]:
    """'Figura 1' and 'Figure 1' stacked on one page are one figure; English leads."""
    groups: list[CaptionGroup] = []
    for group in sorted(singles, key=lambda g: (g.bbox[1], g.bbox[0])):
        partner = next(
            (
                g
                for g in groups
                if g.kind == group.kind
                and g.number == group.number
                and all(lab.english != group.labels[0].english for lab in g.labels)
                and group.bbox[1] - g.bbox[3] <= CAPTION_PAIR_GAP
                and h_overlap(g.bbox, group.bbox) > 0
            ),
            None,
        )
        if partner is None:
            groups.append(group)
            continue
        partner.blocks += group.blocks
        partner.bbox = union(partner.bbox, group.bbox)
        pairs = list(zip(partner.labels + group.labels, partner.texts + group.texts, strict=True))
        pairs.sort(key=lambda p: not p[0].english)
        partner.labels = [p[0] for p in pairs]
        partner.texts = [p[1] for p in pairs]
    return groups


@dataclass
class Match:
    group: CaptionGroup
    clusters: list[int]  # indices into the page's clusters
    bbox: Rect


def match_captions(
    layout: PageLayout,
    groups: list[CaptionGroup],
    clusters: list[Cluster],
    absorbed: set[int],
) -> list[Match]:
    """Give each caption the clusters of its figure: nearest first, closest caption first."""
    in_captions = {b for g in groups for b in g.blocks}
    obstacles = [
        b.bbox
        for i, b in enumerate(layout.blocks)
        if i not in absorbed and i not in in_captions and b.n_lines >= 2 and len(b.text) >= 60
    ]
    free = {i for i, c in enumerate(clusters)}
    pending = [g for g in groups if not g.continued]
    matches: list[Match] = []
    while pending:
        best = None
        for group in pending:
            walls = obstacles + [g.bbox for g in groups if g is not group]
            for zone in _zones(group.bbox, walls, clusters, free, layout.height):
                if best is None or zone[0] < best[0]:
                    best = (zone[0], group, zone)
        if best is None:
            break
        _, group, (_, taken, side) = best
        bbox = clusters[taken[0]].bbox
        for i in taken[1:]:
            bbox = union(bbox, clusters[i].bbox)
        # a frame drawn round figure and caption: the figure is the part beyond the caption
        if side == "above":
            bbox = (bbox[0], bbox[1], bbox[2], min(bbox[3], group.bbox[1]))
        else:
            bbox = (bbox[0], max(bbox[1], group.bbox[3]), bbox[2], bbox[3])
        matches.append(Match(group, taken, bbox))
        free -= set(taken)
        pending.remove(group)
    return matches


def _zones(
    cap: Rect, walls: list[Rect], clusters: list[Cluster], free: set[int], page_h: float
) -> list[tuple[float, list[int], str]]:
    """(gap to the nearest seed, clusters in the zone, side) above and below a caption.

    A cluster belongs to the zone when its edge facing the caption lies between the
    caption and the nearest wall (body text, another caption); it may reach past the
    wall (a table's rows) or around the caption (a frame drawn round figure and caption).
    """
    found = []
    column = [
        i
        for i in free
        if h_overlap(clusters[i].bbox, cap)
        >= 0.2 * min(clusters[i].bbox[2] - clusters[i].bbox[0], cap[2] - cap[0])
    ]
    beside = [w for w in walls if h_overlap(w, cap) > 0]
    top = max([w[3] for w in beside if w[3] <= cap[1] + 1.0], default=0.0)
    bottom = min([w[1] for w in beside if w[1] >= cap[3] - 1.0], default=page_h)
    boxes = {i: clusters[i].bbox for i in column}
    # a cluster round the caption counts on the side where most of it lies, when it
    # reaches well beyond the caption (a shaded caption box does not)
    above = [
        i
        for i, b in boxes.items()
        if b[1] < cap[1] - 1.0
        and b[3] >= top - 3.0
        and (b[3] <= cap[1] + 3.0 or cap[1] - b[1] >= max(FRAME_REACH, b[3] - cap[3]))
    ]
    below = [
        i
        for i, b in boxes.items()
        if b[3] > cap[3] + 1.0
        and b[1] <= bottom + 3.0
        and (b[1] >= cap[3] - 3.0 or b[3] - cap[3] >= max(FRAME_REACH, cap[1] - b[1]))
    ]
    for members, side in ((above, "above"), (below, "below")):
        gaps = [
            cap[1] - clusters[i].bbox[3] if side == "above" else clusters[i].bbox[1] - cap[3]
            for i in members
            if clusters[i].seed
        ]
        if gaps:
            band = (top - 3.0, cap[3] + 3.0) if side == "above" else (cap[1] - 3.0, bottom + 3.0)
            members = _spread(members, clusters, free, band)
            found.append((max(min(gaps), 0.0), sorted(members), side))
    return found


def _spread(
    members: list[int], clusters: list[Cluster], free: set[int], band: tuple[float, float]
) -> list[int]:
    """Add free clusters next to the region within the zone's band: a figure can be wider
    than its caption's column (a full-width schematic over a one-column caption)."""
    members = list(members)
    box = clusters[members[0]].bbox
    for i in members[1:]:
        box = union(box, clusters[i].bbox)
    grew = True
    while grew:
        grew = False
        for i in sorted(free - set(members)):
            b = clusters[i].bbox
            if band[0] <= b[1] and b[3] <= band[1] and intersection(expand(box, SPREAD_GAP), b):
                members.append(i)
                box = union(box, b)
                grew = True
    return members
